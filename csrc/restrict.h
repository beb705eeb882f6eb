/* ACCEL_RESTRICT: C99's restrict, spelled as each compiler accepts it (MSVC has its own
   __restrict), for the loops that only vectorise once the compiler knows their buffers
   do not overlap. Included by the C sources only: not part of the cffi declarations. */
#ifndef ACCEL_RESTRICT_H
#define ACCEL_RESTRICT_H

#if defined(_MSC_VER)
#define ACCEL_RESTRICT __restrict
#elif defined(__GNUC__)
#define ACCEL_RESTRICT __restrict__
#else
#define ACCEL_RESTRICT restrict
#endif

#endif
