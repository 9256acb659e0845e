/* Test plug-in: built for plug-in ABI 0.3 and does not check the host's version itself, so only
 * the host's check stands between it and a crash. */
#include "ds/plugin_abi.h"

static ds_status old_create(const ds_create_args* args, void** instance, const ds_error_sink* error) {
  (void)args;
  (void)error;
  *instance = 0;
  return DS_STATUS_OK;
}

static ds_status old_process(void* instance, ds_doc* doc, const ds_host_api* host, const ds_error_sink* error) {
  (void)instance;
  (void)doc;
  (void)host;
  (void)error;
  return DS_STATUS_OK;
}

static void old_destroy(void* instance) { (void)instance; }

static const ds_stage_decl kStages[] = {
    {sizeof(ds_stage_decl), "noop", "does nothing", 0, 0, 0, 0, old_create, old_process, old_destroy},
};

static const ds_plugin_descriptor kDescriptor = {
    sizeof(ds_plugin_descriptor), 0, 3, "abi_old", "0.0.1", "MIT", "an ABI 0.3 plug-in", kStages, 1,
};

ds_status ds_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor, const ds_plugin_descriptor** descriptor,
                          const ds_error_sink* error) {
  (void)host_abi_major;
  (void)host_abi_minor;
  (void)error;
  *descriptor = &kDescriptor;
  return DS_STATUS_OK;
}
