/* Test plug-in: a current ABI version but a descriptor whose stage name breaks the rules. */
#include "ds/plugin_abi.h"

static ds_status bad_create(const ds_create_args* args, void** instance, const ds_error_sink* error) {
  (void)args;
  (void)error;
  *instance = 0;
  return DS_STATUS_OK;
}

static ds_status bad_process(void* instance, ds_doc* doc, const ds_host_api* host, const ds_error_sink* error) {
  (void)instance;
  (void)doc;
  (void)host;
  (void)error;
  return DS_STATUS_OK;
}

static void bad_destroy(void* instance) { (void)instance; }

static const ds_stage_decl kStages[] = {
    {sizeof(ds_stage_decl), "Bad Name", "a stage name with a space", 0, 0, 0, 0, bad_create, bad_process, bad_destroy},
};

static const ds_plugin_descriptor kDescriptor = {
    sizeof(ds_plugin_descriptor), DS_PLUGIN_ABI_MAJOR, DS_PLUGIN_ABI_MINOR, "bad_descriptor", "0.0.1", "MIT",
    "a descriptor with a bad stage name", kStages, 1,
};

ds_status ds_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor, const ds_plugin_descriptor** descriptor,
                          const ds_error_sink* error) {
  (void)host_abi_major;
  (void)host_abi_minor;
  (void)error;
  *descriptor = &kDescriptor;
  return DS_STATUS_OK;
}
