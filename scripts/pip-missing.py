"""Print the pip requirements (args) that are not installed at a matching version."""
import sys
from importlib import metadata

import re

for req in sys.argv[1:]:
    m = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?(==(.+))?$", req)
    if not m:
        print(req)
        continue
    name, _extras, _, version = m.groups()
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(req)
        continue
    if version and have != version:
        print(req)
    elif _extras and name.lower() == "moto":
        # moto[server] needs flask; check it.
        try:
            metadata.version("flask")
        except metadata.PackageNotFoundError:
            print(req)
