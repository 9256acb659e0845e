// The implementation tables and the CPU feature check. Baseline ISA: this runs before we know
// what the CPU supports.
#include "kernels/cpu/kernel_table.h"
#include "kernels/cpu/portable_kernels.h"
#ifdef DS_KERNELS_HAVE_AVX2
#include "kernels/cpu/avx2_kernels.h"
#endif

namespace ds::kernels {

const KernelTable& portable_kernels() {
  static const KernelTable table{
      "portable",          portable::gemm_nt, portable::gemm_packed, portable::gemm_quant, ref::rmsnorm,
      ref::softmax,        ref::gelu,         ref::rope,             ref::fp16_to_fp32,
      ref::fp32_to_fp16,   top_k_select,      portable::attention_keys, portable::attention_local,
  };
  return table;
}

const KernelTable* avx2_kernels() {
#ifdef DS_KERNELS_HAVE_AVX2
  static const KernelTable table{
      "avx2",           avx2::gemm_nt, avx2::gemm_packed, avx2::gemm_quant, avx2::rmsnorm,
      avx2::softmax,    avx2::gelu,    avx2::rope,        avx2::fp16_to_fp32,
      avx2::fp32_to_fp16, top_k_select, avx2::attention_keys, avx2::attention_local,
  };
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  }();
  return supported ? &table : nullptr;
#else
  return nullptr;
#endif
}

}  // namespace ds::kernels
