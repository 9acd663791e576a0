/// \file ROOT/ML/Detail/RResampler.hxx
/// \brief Balance by resampling while streaming: how many copies of each entry an epoch delivers.

#ifndef ROOT_ML_Detail_RResampler
#define ROOT_ML_Detail_RResampler

#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Entries per class in every resampled epoch of a split, from the class counts of the split.
///
/// By target (ESampleBy::kTarget), the classes are the labels: with ratio r, undersampling cuts every
/// class to at most (smallest class) / r entries, and oversampling raises every class to at least
/// r x (largest class); with more than two classes each is treated alike.
///
/// By dataframe (ByDataFrame()), the classes are the two dataframes, and the plan is ROOT's loader's:
/// one dataframe is drawn from, and the other delivers each of its entries once.
class RResamplingPlan {
   std::map<std::int64_t, std::pair<std::uint64_t, std::uint64_t>> fClasses; ///< label -> (entries, delivered)
   std::uint64_t fDelivered = 0;
   /// By dataframe, the dataframe drawn from (the majority when undersampling, the minority when
   /// oversampling); empty when every class is drawn from.
   std::optional<std::int64_t> fDrawn;

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

   /// ROOT's loader's plan for the two dataframes of a split, with `entries` per dataframe in it: the
   /// majority (more entries; the second on a tie) keeps int(minority / ratio) entries when undersampling,
   /// which without replacement cannot be more than it has, and int(ratio x majority) minority entries
   /// are drawn when oversampling; the other dataframe delivers each of its entries once.
   /// \param split names the split in messages
   static RResamplingPlan ByDataFrame(const std::array<std::uint64_t, 2> &entries, ESampling sampling, double ratio,
                                      bool replacement, const std::string &split)
   {
      const std::string where = "ROOT::ML::RDataLoader: resampling by dataframe: ";
      const std::int64_t major = entries[0] > entries[1] ? 0 : 1, minor = 1 - major;
      const auto nMajor = entries[major], nMinor = entries[minor];
      RResamplingPlan plan;
      // The split's sizes are ROOT's: int() truncates, in double precision as ROOT computes them.
      if (sampling == ESampling::kUndersampling) {
         const auto kept = static_cast<std::uint64_t>(static_cast<double>(nMinor) / ratio);
         if (kept > nMajor && !replacement) {
            std::ostringstream message;
            // Named as in Python too, where this is the only check of sampling_ratio that needs the data.
            const auto least = static_cast<double>(nMinor) / static_cast<double>(nMajor);
            message << where << "undersampling with sampling_ratio (fSamplingRatio) " << ratio << " keeps int("
                    << nMinor << " / ratio) = " << kept << " entries of the majority dataframe " << major
                    << ", which has only " << nMajor << " in the " << split
                    << " split; raise sampling_ratio to at least " << least
                    << ", or draw with replacement (fReplacement)";
            throw std::invalid_argument(message.str());
         }
         plan.fClasses = {{major, {nMajor, kept}}, {minor, {nMinor, nMinor}}};
         plan.fDrawn = major;
      } else {
         const auto drawn = static_cast<std::uint64_t>(ratio * static_cast<double>(nMajor));
         plan.fClasses = {{major, {nMajor, nMajor}}, {minor, {nMinor, drawn}}};
         plan.fDrawn = minor;
      }
      for (const auto &c : plan.fClasses)
         if (c.second.second > 0 && c.second.first == 0)
            throw std::invalid_argument(where + "dataframe " + std::to_string(c.first) + " has no entries in the " +
                                        split + " split (after filters) to draw " + std::to_string(c.second.second) +
                                        " from");
      plan.fDelivered = plan.fClasses[major].second + plan.fClasses[minor].second;
      return plan;
   }

   bool IsActive() const { return !fClasses.empty(); }
   /// Whether the entries of class `label` are drawn from, rather than each delivered once.
   bool IsDrawn(std::int64_t label) const { return !fDrawn || *fDrawn == label; }

   /// By dataframe, unshuffled: the slices of a split (`slices`, in file order) as ROOT's loader delivers
   /// them, each entry read once: the drawn dataframe's first, read over and over up to its planned number
   /// (the majority's first entries, or the minority's cyclically), then the other dataframe's.
   /// \param numInputs the dataframes given, of which a unit's fDataFrame is one modulo numInputs
   std::vector<RUnitSlice> Arrange(const std::vector<RUnitSlice> &slices, const RReadingPlan &plan,
                                   std::size_t numInputs) const
   {
      std::vector<RUnitSlice> drawn, kept;
      for (const auto &s : slices) {
         const auto dataFrame = static_cast<std::int64_t>(plan.GetUnit(s.fUnit).fDataFrame % numInputs);
         (dataFrame == *fDrawn ? drawn : kept).push_back(s);
      }
      const auto &[entries, delivered] = fClasses.at(*fDrawn);
      std::vector<RUnitSlice> order;
      for (std::uint64_t pass = 0; pass * entries < delivered; ++pass)
         order.insert(order.end(), drawn.begin(), drawn.end());
      order = RReadingPlan::Cut(order, 0, delivered);
      order.insert(order.end(), kept.begin(), kept.end());
      return order;
   }

   /// Entries of the split delivered per epoch, copies included.
   std::uint64_t GetNumDelivered() const { return fDelivered; }
   /// label (by dataframe: the dataframe) -> (entries in the split, entries delivered per epoch).
   const std::map<std::int64_t, std::pair<std::uint64_t, std::uint64_t>> &GetClasses() const { return fClasses; }
};

/// \brief Draws, entry by entry in the order an epoch reads them, how many copies of each to deliver,
/// so that each class gets exactly its planned number per epoch, with O(classes) memory. A class the plan
/// does not draw from (RResamplingPlan::IsDrawn()) delivers each of its entries once.
///
/// Without replacement every entry of a class is delivered floor(k / n) times, and a uniformly random
/// subset of k mod n of them once more (selection sampling: entry i of the n_left still to come gets an
/// extra copy with probability extra_left / n_left). With replacement the copies follow the multinomial
/// distribution of k independent draws: each entry gets Binomial(k_left, 1 / n_left) of the draws left.
class RResampler {
   struct RClassState {
      std::uint64_t fEntriesLeft;
      std::uint64_t fCopiesLeft;
      bool fReplacement;
   };
   std::map<std::int64_t, RClassState> fLeft;
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
   RResampler(const RResamplingPlan &plan, bool replacement, std::uint64_t seed) : fRandom(seed)
   {
      for (const auto &c : plan.GetClasses())
         fLeft[c.first] = {c.second.first, c.second.second, replacement && plan.IsDrawn(c.first)};
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
      if (left.fReplacement) {
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
