/* Test plug-in: a valid shared library that exports a symbol, but not ds_plugin_entry. */
#include "ds/plugin_abi.h"

DS_PLUGIN_EXPORT int ds_plugin_something_else(void);

int ds_plugin_something_else(void) { return 42; }
