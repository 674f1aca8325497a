#ifndef CTIMESHIM_H
#define CTIMESHIM_H

/// The kernel's view of time synchronisation (adjtimex(2), read only: modes = 0):
/// 1 synchronised, 0 not synchronised (TIME_ERROR or STA_UNSYNC), -1 cannot be read.
int agent_clock_synchronised(void);

#endif
