/// \file ROOT/ML/Detail/RResampler.hxx
/// \brief Class balance by resampling while streaming: how many copies of each entry an epoch delivers.

#ifndef ROOT_ML_Detail_RResampler
#define ROOT_ML_Detail_RResampler

#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Entries per class in every resampled epoch, from the class counts of the split.
///
/// With ratio r, undersampling cuts every class to at most (smallest class) / r entries, and
/// oversampling raises every class to at least r x (largest class): for two classes, the minority then
/// makes r times the majority, as in ROOT's loader, and with more classes each is treated alike.
class RResamplingPlan {
   std::map<std::int64_t, std::pair<std::uint64_t, std::uint64_t>> fClasses; ///< label -> (entries, delivered)
   std::uint64_t fDelivered = 0;

public:
   RResamplingPlan() = default;
   RResamplingPlan(const std::map<std::int64_t, std::uint64_t> &counts, ESampling sampling, double ratio)
   {
      if (counts.empty())
         throw std::invalid_argument("ROOT::ML::RDataLoader: resampling draws from the classes of the training "
                                     "split, which has no entries (after filters); resample a non-empty dataset");
      if (counts.size() < 2)
         throw std::invalid_argument("ROOT::ML::RDataLoader: resampling needs at least two classes in the training "
                                     "split; found only class " +
                                     std::to_string(counts.begin()->first));
      std::uint64_t smallest = counts.begin()->second, largest = 0;
      for (const auto &c : counts) {
         smallest = std::min(smallest, c.second);
         largest = std::max(largest, c.second);
      }
      for (const auto &c : counts) {
         const auto target = sampling == ESampling::kUndersampling
                                ? std::min<std::uint64_t>(c.second, std::llround(smallest / ratio))
                                : std::max<std::uint64_t>(c.second, std::llround(largest * ratio));
         fClasses[c.first] = {c.second, target};
         fDelivered += target;
      }
   }

   bool IsActive() const { return !fClasses.empty(); }
   /// Entries of the split delivered per epoch, copies included.
   std::uint64_t GetNumDelivered() const { return fDelivered; }
   /// label -> (entries in the split, entries delivered per epoch).
   const std::map<std::int64_t, std::pair<std::uint64_t, std::uint64_t>> &GetClasses() const { return fClasses; }
};

/// \brief Draws, entry by entry in the order an epoch reads them, how many copies of each to deliver,
/// so that each class gets exactly its planned number per epoch, with O(classes) memory.
///
/// Without replacement every entry of a class is delivered floor(k / n) times, and a uniformly random
/// subset of k mod n of them once more (selection sampling: entry i of the n_left still to come gets an
/// extra copy with probability extra_left / n_left). With replacement the copies follow the multinomial
/// distribution of k independent draws: each entry gets Binomial(k_left, 1 / n_left) of the draws left.
class RResampler {
   struct RClassState {
      std::uint64_t fEntriesLeft;
      std::uint64_t fCopiesLeft;
   };
   std::map<std::int64_t, RClassState> fLeft;
   bool fReplacement;
   RRandom fRandom;

   double Uniform() { return std::ldexp(static_cast<double>(fRandom.Next() >> 11), -53); }

   /// Inversion of the binomial distribution, with the terms summed in log space so that a large mean
   /// does not underflow the first one.
   std::uint64_t Binomial(std::uint64_t n, double p)
   {
      if (p >= 1.)
         return n;
      const double u = Uniform();
      const double logOdds = std::log(p) - std::log1p(-p);
      double logTerm = static_cast<double>(n) * std::log1p(-p);
      double cumulative = std::exp(logTerm);
      std::uint64_t k = 0;
      while (cumulative <= u && k < n) {
         logTerm += std::log(static_cast<double>(n - k) / static_cast<double>(k + 1)) + logOdds;
         cumulative += std::exp(logTerm);
         ++k;
      }
      return k;
   }

public:
   RResampler(const RResamplingPlan &plan, bool replacement, std::uint64_t seed)
      : fReplacement(replacement), fRandom(seed)
   {
      for (const auto &c : plan.GetClasses())
         fLeft[c.first] = {c.second.first, c.second.second};
   }

   /// Copies of the next entry, of class `label`, to deliver (possibly 0).
   std::uint64_t Draw(std::int64_t label)
   {
      const auto found = fLeft.find(label);
      if (found == fLeft.end() || found->second.fEntriesLeft == 0)
         throw std::runtime_error("ROOT::ML::RDataLoader: more entries of class " + std::to_string(label) +
                                  " than were counted when the loader was created; did the input files change?");
      auto &left = found->second;
      std::uint64_t copies;
      if (fReplacement) {
         copies = Binomial(left.fCopiesLeft, 1. / static_cast<double>(left.fEntriesLeft));
      } else {
         const auto base = left.fCopiesLeft / left.fEntriesLeft;
         const auto extra = left.fCopiesLeft % left.fEntriesLeft;
         copies = base + (fRandom.Below(left.fEntriesLeft) < extra ? 1 : 0);
      }
      --left.fEntriesLeft;
      left.fCopiesLeft -= copies;
      return copies;
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
