/// \file ROOT/ML/Detail/RKeySplit.hxx
/// \brief Train/validation assignment by an integer key column, such as the event number.

#ifndef ROOT_ML_Detail_RKeySplit
#define ROOT_ML_Detail_RKeySplit

#include "ROOT/ML/RDataLoaderOptions.hxx"

#include <ROOT/RDataFrame.hxx>
#include <TInterpreter.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
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

   /// The functions the filter expressions call. They are compiled by the interpreter only when a loader
   /// splits by key: as typed C++ in this header, every loader would instantiate a typed Filter for each
   /// integer type at start-up (measured: 2.5 s more before the first batch). The hash is RRandom's
   /// SplitMix64 step: RRandom(key).Next().
   static constexpr const char *kJitSource = R"CODE(
#ifndef ROOT_ML_Detail_RKeySplit_Jit
#define ROOT_ML_Detail_RKeySplit_Jit
#include <cstdint>
namespace ROOT { namespace ML { namespace Detail { namespace KeySplit {
template <typename Key>
bool InFold(Key key, std::uint64_t folds, std::uint64_t fold)
{
   if constexpr (std::is_signed_v<Key>) {
      const auto rest = static_cast<std::int64_t>(key) % static_cast<std::int64_t>(folds);
      return static_cast<std::uint64_t>(rest < 0 ? rest + static_cast<std::int64_t>(folds) : rest) == fold;
   } else {
      return static_cast<std::uint64_t>(key) % folds == fold;
   }
}
template <typename Key>
bool HashBelow(Key key, std::uint64_t threshold)
{
   std::uint64_t z = static_cast<std::uint64_t>(key) + 0x9E3779B97F4A7C15ull;
   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
   z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
   return (z ^ (z >> 31)) < threshold;
}
}}}}
#endif
)CODE";

   static bool IsIntegerType(const std::type_info &type)
   {
      for (const std::type_info *integer :
           {&typeid(char), &typeid(signed char), &typeid(unsigned char), &typeid(short), &typeid(unsigned short),
            &typeid(int), &typeid(unsigned int), &typeid(long), &typeid(unsigned long), &typeid(long long),
            &typeid(unsigned long long)})
         if (type == *integer)
            return true;
      return false;
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
      const auto typeName = node.GetColumnType(fKey);
      if (!IsIntegerType(ROOT::Internal::RDF::TypeName2TypeID(typeName)))
         throw std::invalid_argument("ROOT::ML::RDataLoader: the split key '" + fKey + "' has type " + typeName +
                                     "; a split key must be an integer column (Define one, for example from the "
                                     "run and event numbers)");
      if (!gInterpreter->Declare(kJitSource))
         throw std::runtime_error("ROOT::ML::RDataLoader: the interpreter could not compile the key split");
      const std::string inValidation =
         fNumFolds > 0 ? "ROOT::ML::Detail::KeySplit::InFold(" + fKey + ", " + std::to_string(fNumFolds) + "ull, " +
                            std::to_string(fFold) + "ull)"
                       : "ROOT::ML::Detail::KeySplit::HashBelow(" + fKey + ", " +
                            std::to_string(static_cast<std::uint64_t>(std::ldexp(fFraction, 64))) + "ull)";
      const bool validation = split == ESplit::kValidation;
      return node.Filter(validation ? inValidation : "!" + inValidation,
                         validation ? "validation by key" : "training by key");
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
