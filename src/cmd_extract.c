// cmd_extract.c - placeholder, replaced below
#include "cli.h"
int cmd_extract(int argc, char **argv) { (void)argc; (void)argv; return 2; }
