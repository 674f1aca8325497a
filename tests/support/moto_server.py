"""Start moto_server with IAM enforcement and print one JSON line with its endpoint and a user's keys.

The first INITIAL_NO_AUTH_ACTION_COUNT requests are unauthenticated setup calls (create the
user, its key, a policy, the bucket); after that moto checks every signature and IAM policy.
Usage: moto_server.py [--actions s3:ListBucket,s3:GetObject,...]   (default: s3:*)
The server runs until stdin closes.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

import boto3

parser = argparse.ArgumentParser()
parser.add_argument("--actions", default="s3:*")
parser.add_argument("--bucket", default="moto-bucket")
parser.add_argument("--object-lock", action="store_true", help="create the bucket with Object Lock enabled")
args = parser.parse_args()

# Started by the Swift test runner, this process inherits a mask that blocks SIGTERM; unblocked
# here (and so for moto_server, which inherits it) so that both can be stopped.
signal.pthread_sigmask(signal.SIG_SETMASK, [])

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]

setup_calls = 5
env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(setup_calls))
proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
endpoint = f"http://127.0.0.1:{port}"
deadline = time.time() + 30
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            break
    except OSError:
        time.sleep(0.1)

admin = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **admin)
iam.create_user(UserName="agent")                                              # 1
key = iam.create_access_key(UserName="agent")["AccessKey"]                    # 2
actions = args.actions.split(",")
# moto checks HEAD on a bucket as s3:HeadBucket (AWS: s3:ListBucket): grant both with ListBucket.
if "s3:ListBucket" in actions and "s3:HeadBucket" not in actions:
    actions.append("s3:HeadBucket")
policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
arn = iam.create_policy(PolicyName="agent-policy", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]  # 3
iam.attach_user_policy(UserName="agent", PolicyArn=arn)                        # 4
boto3.client("s3", **admin).create_bucket(Bucket=args.bucket, ObjectLockEnabledForBucket=args.object_lock)  # 5

print(json.dumps({"endpoint": endpoint, "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"],
                  "bucket": args.bucket, "pid": proc.pid}), flush=True)
# A SIGTERM (the Swift tests' LiveServer.stop) must still stop moto_server, not orphan it.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    sys.stdin.read()
finally:
    proc.terminate()
    proc.wait(10)
