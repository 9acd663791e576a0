/// \file ROOT/ML/Detail/RKeySplit.hxx
/// \brief Train/validation assignment by an integer key column, such as the event number.

#ifndef ROOT_ML_Detail_RKeySplit
#define ROOT_ML_Detail_RKeySplit

#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"

#include <ROOT/RDataFrame.hxx>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Puts each entry in the training or the validation split by the value of its key alone, so
/// that the assignment is the same whatever the files, clusters, seed, or tool that reads them.
///
/// With k folds (RDataLoaderOptions::fNumFolds), validation is fold fFold: the keys with
/// key mod k == fFold, the convention of HEP analyses (k = 2: even and odd event numbers). Without
/// folds, a key is in validation when a hash of it falls below fValidationSplit, so that consecutive or
/// patterned keys (all even, say) still give that fraction, up to statistical fluctuation.
class RKeySplit {
   std::string fKey;
   double fFraction;
   std::uint64_t fNumFolds;
   std::uint64_t fFold;

   template <typename Key>
   bool IsValidation(Key key) const
   {
      if (fNumFolds > 0) {
         if constexpr (std::is_signed_v<Key>) {
            const auto folds = static_cast<std::int64_t>(fNumFolds);
            const auto rest = static_cast<std::int64_t>(key) % folds;
            return static_cast<std::uint64_t>(rest < 0 ? rest + folds : rest) == fFold;
         } else {
            return static_cast<std::uint64_t>(key) % fNumFolds == fFold;
         }
      }
      const auto hash = RRandom(static_cast<std::uint64_t>(key)).Next();
      return std::ldexp(static_cast<double>(hash), -64) < fFraction;
   }

   template <typename Key>
   ROOT::RDF::RNode FilterAs(ROOT::RDF::RNode node, bool validation) const
   {
      const RKeySplit rule = *this;
      return node.Filter([rule, validation](Key key) { return rule.IsValidation(key) == validation; }, {fKey},
                         validation ? "validation by key" : "training by key");
   }

public:
   explicit RKeySplit(const RDataLoaderOptions &options)
      : fKey(options.fSplitKey),
        fFraction(options.fValidationSplit),
        fNumFolds(options.fNumFolds),
        fFold(options.fFold)
   {
   }

   /// The entries of `node` in one split, as a filter on the key column.
   ROOT::RDF::RNode Select(ROOT::RDF::RNode node, ESplit split) const
   {
      const bool validation = split == ESplit::kValidation;
      const auto typeName = node.GetColumnType(fKey);
      const auto &type = ROOT::Internal::RDF::TypeName2TypeID(typeName);
      if (type == typeid(int))
         return FilterAs<int>(node, validation);
      if (type == typeid(unsigned int))
         return FilterAs<unsigned int>(node, validation);
      if (type == typeid(long))
         return FilterAs<long>(node, validation);
      if (type == typeid(unsigned long))
         return FilterAs<unsigned long>(node, validation);
      if (type == typeid(long long))
         return FilterAs<long long>(node, validation);
      if (type == typeid(unsigned long long))
         return FilterAs<unsigned long long>(node, validation);
      if (type == typeid(short))
         return FilterAs<short>(node, validation);
      if (type == typeid(unsigned short))
         return FilterAs<unsigned short>(node, validation);
      if (type == typeid(char))
         return FilterAs<char>(node, validation);
      if (type == typeid(unsigned char))
         return FilterAs<unsigned char>(node, validation);
      throw std::invalid_argument("ROOT::ML::RDataLoader: the split key '" + fKey + "' has type " + typeName +
                                  "; a split key must be an integer column (Define one, for example from the "
                                  "run and event numbers)");
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
