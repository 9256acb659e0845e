/* Test plug-in written against the raw C ABI: stage "status" adds an annotation and then returns
 * an error status (the host must discard the annotation); stage "create" fails in create. Also
 * shows that an int option crosses the boundary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/plugin_abi.h"

typedef struct StatusStage {
  int64_t code;
} StatusStage;

static void report(const ds_error_sink* error, const char* message) {
  if (error && error->report) {
    ds_str m = {message, strlen(message)};
    error->report(error->ctx, m);
  }
}

static ds_status status_create(const ds_create_args* args, void** instance, const ds_error_sink* error) {
  StatusStage* stage = (StatusStage*)malloc(sizeof(StatusStage));
  size_t i;
  if (!stage) {
    report(error, "out of memory");
    return DS_STATUS_ERROR;
  }
  stage->code = -1;
  for (i = 0; i < args->option_count; ++i) {
    const ds_option_value* v =
        (const ds_option_value*)((const char*)args->options + i * args->options[0].struct_size);
    if (v->name.len == 4 && memcmp(v->name.ptr, "code", 4) == 0) stage->code = v->int_value;
  }
  *instance = stage;
  return DS_STATUS_OK;
}

static ds_status status_process(void* instance, ds_doc* doc, const ds_host_api* host, const ds_error_sink* error) {
  char message[96];
  ds_annotation a;
  ds_str text = host->normalized(doc);
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.label.ptr = "seen";
  a.label.len = 4;
  a.begin = 0;
  a.end = text.len;
  a.score = 1.0;
  if (host->add_annotation(doc, &a) != DS_STATUS_OK) {
    report(error, "add_annotation failed");
    return DS_STATUS_ERROR;
  }
  snprintf(message, sizeof message, "model not ready (code %lld)", (long long)((StatusStage*)instance)->code);
  report(error, message);
  return DS_STATUS_ERROR;
}

static void status_destroy(void* instance) { free(instance); }

static ds_status create_fails(const ds_create_args* args, void** instance, const ds_error_sink* error) {
  (void)args;
  (void)instance;
  report(error, "cannot open model file 'missing.bin'");
  return DS_STATUS_ERROR;
}

static ds_status never_called(void* instance, ds_doc* doc, const ds_host_api* host, const ds_error_sink* error) {
  (void)instance;
  (void)doc;
  (void)host;
  report(error, "process without create");
  return DS_STATUS_ERROR;
}

static void nothing(void* instance) { (void)instance; }

static const ds_option_decl kStatusOptions[] = {
    {sizeof(ds_option_decl), "code", DS_OPTION_INT, "a number echoed in the error", 1, 0, 7, 0.0, 0, 0, 0, 1, 0.0, 1,
     100.0, 0, 0},
};

static const ds_stage_decl kStages[] = {
    {sizeof(ds_stage_decl), "status", "adds an annotation, then fails with an error status", kStatusOptions, 1,
     DS_FIELD_NORMALIZED, DS_FIELD_ANNOTATIONS, status_create, status_process, status_destroy},
    {sizeof(ds_stage_decl), "create", "fails in create", 0, 0, DS_FIELD_NORMALIZED, 0, create_fails, never_called,
     nothing},
};

static const ds_plugin_descriptor kDescriptor = {
    sizeof(ds_plugin_descriptor), DS_PLUGIN_ABI_MAJOR, DS_PLUGIN_ABI_MINOR, "failing", "0.0.1", "MIT",
    "stages that fail through status codes", kStages, 2,
};

static int host_supported(uint32_t major, uint32_t minor) {
  const uint32_t needed_minor = DS_PLUGIN_ABI_MINOR;
  return major == DS_PLUGIN_ABI_MAJOR && minor >= needed_minor;
}

ds_status ds_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor, const ds_plugin_descriptor** descriptor,
                          const ds_error_sink* error) {
  *descriptor = &kDescriptor;
  if (!host_supported(host_abi_major, host_abi_minor)) {
    report(error, "failing: unsupported host ABI");
    return DS_STATUS_ABI_MISMATCH;
  }
  return DS_STATUS_OK;
}
