// Headers every kernels_*.cpp file includes before it enables an instruction set, so that no
// standard-library inline function is compiled for a wider instruction set than the baseline.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "cpu/kernels.h"
