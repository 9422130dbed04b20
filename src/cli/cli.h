/* Command line of setec-manager (CONTRACT.md §1). */
#pragma once

int cli_main(int argc, char **argv);
