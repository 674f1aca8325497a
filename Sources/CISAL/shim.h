#ifndef OFFSITE_CISAL_SHIM_H
#define OFFSITE_CISAL_SHIM_H
/* Intel ISA-L (Debian libisal-dev 2.30): only its CRC functions are used. */
#include <isa-l/crc.h>
#endif
