/*
 * cmd_cost.h: `otasign rollout cost APP` and `otasign device cost ID`
 * (cli/cmd_cost.c): what updates cost devices in bytes on the wire.
 */
#ifndef OTASIGN_CMD_COST_H
#define OTASIGN_CMD_COST_H

/* argv[0] is "rollout" / "device", argv[1] "cost".  Exit status: 0 ok,
 * 1 failure, 2 usage. */
int cmd_rollout_cost(int argc, char **argv);
int cmd_device_cost(int argc, char **argv);

#endif
