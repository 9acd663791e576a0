/// \file ROOT/ML/RLengthDistribution.hxx
/// \brief How many objects the entries of a dataset hold, for choosing a collection's maximum length.

#ifndef ROOT_ML_RLengthDistribution
#define ROOT_ML_RLengthDistribution

#include <ROOT/RDataFrame.hxx>

#include <RtypesCore.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ROOT {
namespace ML {

/// \brief The number of entries holding each number of objects.
///
/// ~~~{.cpp}
/// auto lengths = ROOT::ML::BookLengthDistributions(df, {"Muon_pt", "Jet_pt"}); // one event loop for both
/// options.fCollections = {{"muons", {"Muon_pt", "Muon_eta"}, lengths[0]->GetQuantile(0.99)}};
/// ~~~
class RLengthDistribution {
   std::vector<std::uint64_t> fCounts; ///< fCounts[n]: entries with n objects.

public:
   void Fill(std::uint64_t length)
   {
      if (length >= fCounts.size())
         fCounts.resize(length + 1, 0);
      ++fCounts[length];
   }
   void Merge(const RLengthDistribution &other)
   {
      if (other.fCounts.size() > fCounts.size())
         fCounts.resize(other.fCounts.size(), 0);
      for (std::size_t n = 0; n < other.fCounts.size(); ++n)
         fCounts[n] += other.fCounts[n];
   }

   const std::vector<std::uint64_t> &GetCounts() const { return fCounts; }
   std::uint64_t GetNumEntries() const
   {
      std::uint64_t entries = 0;
      for (auto c : fCounts)
         entries += c;
      return entries;
   }
   /// The smallest length that at least a fraction `quantile` of the entries do not exceed (NumPy's
   /// "inverted_cdf" quantile); 0 without entries.
   std::uint64_t GetQuantile(double quantile) const
   {
      if (!(quantile > 0. && quantile <= 1.))
         throw std::invalid_argument("ROOT::ML::RLengthDistribution: the quantile must be in (0, 1]");
      const auto entries = GetNumEntries();
      // The first length whose cumulative count reaches quantile x entries (at least one entry).
      const auto needed = static_cast<std::uint64_t>(std::ceil(quantile * static_cast<double>(entries)));
      std::uint64_t cumulative = 0;
      for (std::size_t n = 0; n < fCounts.size(); ++n) {
         cumulative += fCounts[n];
         if (cumulative >= std::max<std::uint64_t>(needed, 1))
            return n;
      }
      return 0;
   }
   /// Objects that a maximum length of `maxLength` would drop, over all entries.
   std::uint64_t GetNumTruncated(std::uint64_t maxLength) const
   {
      std::uint64_t dropped = 0;
      for (std::size_t n = maxLength + 1; n < fCounts.size(); ++n)
         dropped += fCounts[n] * (n - maxLength);
      return dropped;
   }
};

/// Books on `df` the length distribution of each vector column in `columns`. The results share one
/// event loop, which runs when the first of them is read.
inline std::vector<ROOT::RDF::RResultPtr<RLengthDistribution>>
BookLengthDistributions(ROOT::RDF::RNode df, const std::vector<std::string> &columns)
{
   std::vector<ROOT::RDF::RResultPtr<RLengthDistribution>> results;
   for (std::size_t i = 0; i < columns.size(); ++i) {
      // An alias lets the size expression name columns that are not C++ identifiers ("a.b" in an RNTuple).
      const auto source = "rdataloader_lengths_of_" + std::to_string(i);
      const auto length = "rdataloader_length_" + std::to_string(i);
      auto node = df.Alias(source, columns[i]).Define(length, "static_cast<ULong64_t>(" + source + ".size())");
      results.push_back(node.Aggregate([](RLengthDistribution &d, ULong64_t n) { d.Fill(n); },
                                       [](std::vector<RLengthDistribution> &partial) {
                                          for (std::size_t p = 1; p < partial.size(); ++p)
                                             partial[0].Merge(partial[p]);
                                       },
                                       length, RLengthDistribution{}));
   }
   return results;
}

} // namespace ML
} // namespace ROOT

#endif
