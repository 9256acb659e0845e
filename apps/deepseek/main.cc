#include <cstdio>
int main() { std::puts("deepseek " DS_VERSION); return 0; }
