#include "CTimeShim.h"

#include <sys/timex.h>

int agent_clock_synchronised(void) {
    struct timex tx = {0};  /* modes = 0: a query, nothing is changed */
    int state = adjtimex(&tx);
    if (state < 0) return -1;
    if (state == TIME_ERROR || (tx.status & STA_UNSYNC)) return 0;
    return 1;
}
