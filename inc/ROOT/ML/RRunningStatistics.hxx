/// \file ROOT/ML/RRunningStatistics.hxx
/// \brief Count, mean, spread and range of a stream of values, for fitting feature normalisations.

#ifndef ROOT_ML_RRunningStatistics
#define ROOT_ML_RRunningStatistics

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ROOT {
namespace ML {

/// Statistics of one feature element, accumulated in one pass (Welford's algorithm, which stays
/// accurate where sum-of-squares formulas cancel catastrophically). NaN and infinite values are counted
/// apart and left out: one of them would make every statistic, and so every normalised value, NaN.
struct RRunningStatistics {
   std::uint64_t fCount = 0;    ///< Finite values added.
   std::uint64_t fNonFinite = 0; ///< NaN and infinite values skipped.
   double fMean = 0.;
   double fM2 = 0.; ///< Sum of squared deviations from the mean.
   double fMin = std::numeric_limits<double>::infinity();
   double fMax = -std::numeric_limits<double>::infinity();

   void Add(double x)
   {
      if (!std::isfinite(x)) {
         ++fNonFinite;
         return;
      }
      ++fCount;
      const double delta = x - fMean;
      fMean += delta / static_cast<double>(fCount);
      fM2 += delta * (x - fMean);
      fMin = std::min(fMin, x);
      fMax = std::max(fMax, x);
   }
   /// Population standard deviation (NumPy's default, ddof=0).
   double GetStdDev() const { return fCount > 0 ? std::sqrt(fM2 / static_cast<double>(fCount)) : 0.; }
};

} // namespace ML
} // namespace ROOT

#endif
