/* opts.h: heartwire-collector's options: the table, derived defaults and --help. */
#ifndef HEARTWIRE_COLLECTOR_OPTS_H
#define HEARTWIRE_COLLECTOR_OPTS_H

#include <stdio.h>

#include "heartwire/error.h"

#include "collector.h"

/* Loads cfg from defaults < config file < HEARTWIRE_* < argv (hw_config_load), then derives
 * what has no static default: id (collector-HOSTNAME, sanitised) and the password from
 * --password-file (first line). Returns HW_OK or HW_ERR_CONFIG naming the option. */
int hw_collector_opts_load(hw_collector_cfg_t *cfg, int argc, char **argv, hw_error_t *err);

/* Prints the usage text and every option to out. */
void hw_collector_opts_usage(FILE *out);

#endif
