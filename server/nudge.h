/*
 * nudge.h: a LAN nudge from otad (--nudge ADDR:PORT, off by default).
 *
 * When a rollout starts or changes, otad sends one UDP datagram
 * "OTAN <app>" to ADDR:PORT (a broadcast address such as 192.168.1.255, or
 * one board).  Boards provisioned with `otasign device add --nudge PORT`
 * then poll now instead of at their next interval.  A nudge carries no
 * authority: it only triggers a poll, which is checked as always; the agent
 * heeds at most one per minute.  Fire and forget: a lost nudge costs one
 * poll interval, never a wrong decision.
 */
#ifndef SRV_NUDGE_H
#define SRV_NUDGE_H

/* Parse and set the target "A.B.C.D:PORT" (IPv4; broadcast allowed).
 * 0 ok; -1 with a message on stderr. */
int srv_nudge_set(const char *target);

/* Send "OTAN <app>" to the target, if one is set.  Never blocks for long,
 * never fails the caller: errors are counted in the return value only
 * (0 sent or off, -1 not sent). */
int srv_nudge(const char *app);

#endif
