/// \file ROOT/ML/Detail/RRandom.hxx
/// \brief A fully specified random generator, so that a seed gives the same epochs on every platform.

#ifndef ROOT_ML_Detail_RRandom
#define ROOT_ML_Detail_RRandom

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>

namespace ROOT {
namespace ML {
namespace Detail {

/// SplitMix64 (Steele, Lea, Flood 2014). std::shuffle and std::uniform_int_distribution are
/// implementation-defined, which would make "same seed, same epoch" depend on the standard library.
class RRandom {
   std::uint64_t fState;

public:
   explicit RRandom(std::uint64_t seed) : fState(seed) {}

   /// A stream seed derived from a base seed and a path such as {split, epoch, window}.
   static std::uint64_t Derive(std::uint64_t seed, std::initializer_list<std::uint64_t> path)
   {
      RRandom r(seed);
      for (auto p : path)
         r = RRandom(r.Next() ^ (p * 0x9E3779B97F4A7C15ull));
      return r.Next();
   }

   std::uint64_t Next()
   {
      std::uint64_t z = (fState += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      return z ^ (z >> 31);
   }

   /// Uniform integer in [0, n), without modulo bias (Lemire 2019).
   std::uint64_t Below(std::uint64_t n)
   {
      unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
      auto low = static_cast<std::uint64_t>(m);
      if (low < n) {
         const std::uint64_t threshold = -n % n;
         while (low < threshold) {
            m = static_cast<unsigned __int128>(Next()) * n;
            low = static_cast<std::uint64_t>(m);
         }
      }
      return static_cast<std::uint64_t>(m >> 64);
   }

   /// Fisher-Yates shuffle of [first, last).
   template <typename It>
   void Shuffle(It first, It last)
   {
      const auto n = static_cast<std::uint64_t>(last - first);
      for (std::uint64_t i = n; i > 1; --i)
         std::swap(first[i - 1], first[Below(i)]);
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
