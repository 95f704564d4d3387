package gateway

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// clockStatus asks the kernel whether the clock is synchronised (by NTP,
// chrony or systemd-timesyncd): adjtimex's STA_UNSYNC flag.
func clockStatus() (status, detail string) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	now := time.Now().UTC().Format(time.RFC3339)
	switch {
	case err != nil:
		return CheckWarn, fmt.Sprintf("%s; %v", now, err)
	case state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0:
		return CheckWarn, now + ", but the clock is not synchronised: run NTP (chrony, systemd-timesyncd)"
	}
	return CheckOK, now + ", synchronised"
}
