/* The plug-in binary contract: a small, versioned C ABI (pure C, usable from C and C++).
 *
 * A plug-in is a shared library that exports exactly one function, `ds_plugin_entry`
 * (see ds_plugin_entry_fn). The host calls it once after loading; it returns a descriptor that
 * lists the plug-in's stages. Everything that crosses the boundary is plain C: no exceptions, no
 * std:: types, no virtual tables.
 *
 * Versioning: DS_PLUGIN_ABI_MAJOR must match exactly; the host's minor must be >= the minor the
 * plug-in was built against. Both sides check. A minor bump may only append fields to the end of
 * structs that start with `struct_size`; readers walk arrays of such structs with a stride of the
 * element's `struct_size` and treat fields beyond it as absent.
 *
 * Memory: whoever allocates frees. The descriptor and everything it points to belong to the
 * plug-in and must stay valid until the library is unloaded (static storage). Everything the host
 * hands to the plug-in (option values, document views, strings) belongs to the host and is valid
 * only during the call that received it. Results go back through host callbacks, which copy.
 *
 * Strings are UTF-8. `ds_str` views are NOT NUL-terminated; `const char*` fields of the
 * descriptor are NUL-terminated. All offsets are byte offsets into the document's normalized text.
 *
 * Threading: the host calls `create`, `process` and `destroy` of one instance from one thread at
 * a time; different instances of a stage may run on different threads at once, so a plug-in must
 * not share mutable state between instances without its own locking.
 */
#ifndef DS_PLUGIN_ABI_H_
#define DS_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#define DS_PLUGIN_ABI_MAJOR 1
#define DS_PLUGIN_ABI_MINOR 1  /* 1: ds_tensor.labels */

/* The name of the one exported symbol. */
#define DS_PLUGIN_ENTRY_NAME "ds_plugin_entry"

#if defined(_WIN32)
#define DS_PLUGIN_EXPORT __declspec(dllexport)
#else
#define DS_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
#define DS_PLUGIN_NOEXCEPT noexcept
extern "C" {
#else
#define DS_PLUGIN_NOEXCEPT
#endif

/* Status codes returned by every function across the boundary. */
typedef int32_t ds_status;
#define DS_STATUS_OK 0
#define DS_STATUS_ERROR 1            /* generic failure; the message says why */
#define DS_STATUS_INVALID_ARGUMENT 2 /* a bad value was passed (span outside the text, ...) */
#define DS_STATUS_OUT_OF_RANGE 3     /* an index past the end */
#define DS_STATUS_NOT_FOUND 4        /* e.g. no tensor of that name */
#define DS_STATUS_ABI_MISMATCH 5     /* the plug-in refuses this host's ABI version */

/* A UTF-8 string view: `len` bytes at `ptr` (ptr may be NULL when len is 0). */
typedef struct ds_str {
  const char* ptr;
  size_t len;
} ds_str;

/* Receives an error message from the other side. The receiver copies the bytes. */
typedef struct ds_error_sink {
  void* ctx;
  void (*report)(void* ctx, ds_str message);
} ds_error_sink;

/* Option types, in the order of ds::OptionType. */
typedef int32_t ds_option_type;
#define DS_OPTION_BOOL 0
#define DS_OPTION_INT 1
#define DS_OPTION_FLOAT 2
#define DS_OPTION_STRING 3
#define DS_OPTION_PATH 4 /* a string; the host resolves it against the pipeline file's folder */
#define DS_OPTION_ENUM 5
#define DS_OPTION_STRING_LIST 6

/* Document fields a stage reads or adds (bitmask, mirrors ds::Field). */
#define DS_FIELD_BYTES (1u << 0)
#define DS_FIELD_TEXT (1u << 1)
#define DS_FIELD_NORMALIZED (1u << 2)
#define DS_FIELD_SEGMENTS (1u << 3)
#define DS_FIELD_TOKENS (1u << 4)
#define DS_FIELD_OUTPUTS (1u << 5)
#define DS_FIELD_ANNOTATIONS (1u << 6)
#define DS_FIELD_ALL ((DS_FIELD_ANNOTATIONS << 1) - 1u) /* every known bit */

/* One option a stage declares. Plug-in owned, static. */
typedef struct ds_option_decl {
  uint32_t struct_size; /* sizeof(ds_option_decl) */
  const char* name;     /* [a-z][a-z0-9_]* */
  ds_option_type type;
  const char* doc;
  int32_t has_default;  /* 0: the user must set it */
  /* The default, in the field matching `type`. */
  int32_t default_bool;
  int64_t default_int;
  double default_float;
  const char* default_string; /* STRING, PATH, ENUM */
  const char* const* default_list;
  size_t default_list_count;
  /* Inclusive bounds for INT and FLOAT. */
  int32_t has_min;
  double min;
  int32_t has_max;
  double max;
  const char* const* choices; /* ENUM: the allowed values */
  size_t choice_count;
} ds_option_decl;

/* One resolved option value handed to `create`. Host owned, valid during the call. */
typedef struct ds_option_value {
  uint32_t struct_size;
  ds_str name;
  ds_option_type type;
  int32_t bool_value;
  int64_t int_value;
  double float_value;
  ds_str string_value; /* STRING, PATH, ENUM */
  const ds_str* list;  /* STRING_LIST */
  size_t list_count;
} ds_option_value;

/* What `create` gets. Host owned, valid during the call. */
typedef struct ds_create_args {
  uint32_t struct_size;
  const ds_option_value* options; /* every declared option, defaults filled in; walk by struct_size */
  size_t option_count;
  ds_str instance_name; /* the stage's name as written in the pipeline file */
  ds_str base_dir;      /* the pipeline file's folder */
  int32_t worker;       /* worker index, 0..threads-1 */
} ds_create_args;

/* An opaque document handle, valid only during `process`. */
typedef struct ds_doc ds_doc;

/* Views the host fills in. The caller sets struct_size; the host writes only what fits. All
 * pointers point into host memory and stay valid until `process` returns, except annotation
 * views, which `add_annotation` invalidates. */
typedef struct ds_segment {
  uint32_t struct_size;
  size_t begin;
  size_t end;
  ds_str kind;   /* "sentence", "clause", "heading" */
  ds_str number; /* numbering as written ("第一条", "1.1"); may be empty */
  int32_t level; /* numbering depth, 0 for none */
} ds_segment;

typedef struct ds_token {
  uint32_t struct_size;
  int32_t id;
  size_t begin;
  size_t end;
} ds_token;

typedef struct ds_tensor {
  uint32_t struct_size;
  ds_str name;
  const int64_t* shape;
  size_t rank;
  const float* data; /* row-major FP32, product(shape) values */
  size_t size;       /* number of floats */
  /* ABI 1.1: the names of the last dimension's entries (a model head's labels, e.g. clause ids),
   * label_count of them; 0 when the tensor has none (hidden states, embeddings). */
  const ds_str* labels;
  size_t label_count;
} ds_tensor;

typedef struct ds_attribute {
  ds_str key;
  ds_str value;
} ds_attribute;

/* An annotation: read through annotation_at, written through add_annotation (where the plug-in
 * owns the struct and the host copies everything; `stage` is ignored on write). */
typedef struct ds_annotation {
  uint32_t struct_size;
  ds_str label;
  size_t begin;
  size_t end;
  double score;
  const ds_attribute* attributes;
  size_t attribute_count;
  ds_str stage; /* the stage instance that added it */
} ds_annotation;

/* The host's functions, passed to every `process` call. Host owned; check struct_size before
 * calling a function appended in a later minor version. Functions returning ds_status leave a
 * message for `last_error`. */
typedef struct ds_host_api {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;

  ds_str (*path)(const ds_doc* doc);
  ds_str (*text)(const ds_doc* doc);       /* decoded text */
  ds_str (*normalized)(const ds_doc* doc); /* NFKC text; every span refers to it */

  size_t (*segment_count)(const ds_doc* doc);
  ds_status (*segment_at)(const ds_doc* doc, size_t index, ds_segment* out);

  size_t (*token_count)(const ds_doc* doc);
  ds_status (*token_at)(const ds_doc* doc, size_t index, ds_token* out);

  size_t (*tensor_count)(const ds_doc* doc);
  ds_status (*tensor_at)(const ds_doc* doc, size_t index, ds_tensor* out);
  ds_status (*tensor_find)(const ds_doc* doc, ds_str name, ds_tensor* out);

  size_t (*annotation_count)(const ds_doc* doc);
  ds_status (*annotation_at)(ds_doc* doc, size_t index, ds_annotation* out);

  ds_status (*add_annotation)(ds_doc* doc, const ds_annotation* annotation);
  ds_status (*add_warning)(ds_doc* doc, ds_str message);

  /* The message of the last failed host call on this document. */
  ds_str (*last_error)(const ds_doc* doc);
} ds_host_api;

/* One stage of a plug-in, registered as "<plugin>.<name>". Plug-in owned, static. */
typedef struct ds_stage_decl {
  uint32_t struct_size;
  const char* name; /* [a-z][a-z0-9_]* */
  const char* doc;  /* one line */
  const ds_option_decl* options; /* walk by options[0].struct_size */
  size_t option_count;
  uint32_t reads; /* DS_FIELD_* bits */
  uint32_t adds;

  /* Creates an instance from resolved options. On failure reports a message and returns an
   * error status; *instance is then ignored. */
  ds_status (*create)(const ds_create_args* args, void** instance, const ds_error_sink* error);
  /* Processes one document. On failure reports a message and returns an error status; the host
   * then discards what this call added and marks the document failed. */
  ds_status (*process)(void* instance, ds_doc* doc, const ds_host_api* host, const ds_error_sink* error);
  /* Frees an instance returned by create. */
  void (*destroy)(void* instance);
} ds_stage_decl;

/* The plug-in's descriptor. The first three fields are frozen for every ABI version: a host reads
 * only them when the major version differs. Plug-in owned, static. */
typedef struct ds_plugin_descriptor {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  const char* name;        /* [a-z][a-z0-9_]*, the prefix of its stages' names */
  const char* version;     /* the plug-in's own version, e.g. "0.1.0" */
  const char* license;     /* SPDX id */
  const char* description; /* one line */
  const ds_stage_decl* stages; /* walk by stages[0].struct_size */
  size_t stage_count;
} ds_plugin_descriptor;

/* The entry point. Sets *descriptor (also when it refuses the host's version, so the host can
 * name both versions) and returns DS_STATUS_OK, DS_STATUS_ABI_MISMATCH or another error with a
 * message. Must not throw. */
typedef ds_status (*ds_plugin_entry_fn)(uint32_t host_abi_major, uint32_t host_abi_minor,
                                        const ds_plugin_descriptor** descriptor, const ds_error_sink* error);

/* What a plug-in defines (the SDK's DS_PLUGIN macro does it for C++ authors). */
DS_PLUGIN_EXPORT ds_status ds_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                           const ds_plugin_descriptor** descriptor,
                                           const ds_error_sink* error) DS_PLUGIN_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* DS_PLUGIN_ABI_H_ */
