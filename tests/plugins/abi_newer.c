/* Test plug-in: built against a newer minor of the ABI than the host provides. It checks the
 * host's version itself (as the SDK does) and refuses, still handing out its descriptor. */
#include <string.h>

#include "ds/plugin_abi.h"

#define NEWER_MINOR (DS_PLUGIN_ABI_MINOR + 1)

static ds_status newer_create(const ds_create_args* args, void** instance, const ds_error_sink* error) {
  (void)args;
  (void)error;
  *instance = 0;
  return DS_STATUS_OK;
}

static ds_status newer_process(void* instance, ds_doc* doc, const ds_host_api* host, const ds_error_sink* error) {
  (void)instance;
  (void)doc;
  (void)host;
  (void)error;
  return DS_STATUS_OK;
}

static void newer_destroy(void* instance) { (void)instance; }

static const ds_stage_decl kStages[] = {
    {sizeof(ds_stage_decl), "noop", "does nothing", 0, 0, 0, 0, newer_create, newer_process, newer_destroy},
};

static const ds_plugin_descriptor kDescriptor = {
    sizeof(ds_plugin_descriptor), DS_PLUGIN_ABI_MAJOR, NEWER_MINOR, "abi_newer", "0.0.1", "MIT",
    "a plug-in built for a newer ABI minor", kStages, 1,
};

ds_status ds_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor, const ds_plugin_descriptor** descriptor,
                          const ds_error_sink* error) {
  static const char kMessage[] = "abi_newer needs a newer host";
  *descriptor = &kDescriptor;
  if (host_abi_major != DS_PLUGIN_ABI_MAJOR || host_abi_minor < NEWER_MINOR) {
    if (error && error->report) {
      ds_str m = {kMessage, strlen(kMessage)};
      error->report(error->ctx, m);
    }
    return DS_STATUS_ABI_MISMATCH;
  }
  return DS_STATUS_OK;
}
