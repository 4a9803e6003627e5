/*
 * cmd_device.h: `otasign device add ID ...` (cli/cmd_device.c): register a
 * device with otad's admin API and write its one-time provisioning script.
 */
#ifndef OTASIGN_CMD_DEVICE_H
#define OTASIGN_CMD_DEVICE_H

/* argv[0] is "device"; argv[1] the action ("add").  Exit status: 0 ok,
 * 1 failure, 2 usage (messages on stderr). */
int cmd_device(int argc, char **argv);

/* `otasign nudge ADDR:PORT [--app NAME]`: one UDP datagram "OTAN <app>"
 * (device/espruino/README.md): boards provisioned with --nudge PORT poll now. */
int cmd_nudge(int argc, char **argv);

#endif
