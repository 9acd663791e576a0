/// \file ROOT/ML/RDataLoaderOptions.hxx
/// \brief Typed options of ROOT::ML::RDataLoader.

#ifndef ROOT_ML_RDataLoaderOptions
#define ROOT_ML_RDataLoaderOptions

#include "ROOT/ML/RNormalization.hxx"
#include "ROOT/ML/RProgress.hxx"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {

/// Element type of an output tensor. Values are converted once, when they are copied into the batch.
enum class EDType : int {
   kFloat32,
   kFloat64,
   kInt8,
   kInt16,
   kInt32,
   kInt64,
   kUInt8,
   kUInt16,
   kUInt32,
   kUInt64,
   kBool
};

/// How the objects of a collection are laid out in a batch.
enum class ECollectionLayout : int {
   kPadded, ///< (rows, max length, fields) values and a (rows, max length) mask of the real objects.
   kPacked  ///< (objects, fields) values of all entries back to back, and rows + 1 offsets into them.
};

/// \brief A group of vector columns holding one value per object (for example the muons of an event),
/// delivered together as one tensor instead of as flat, independently padded features.
///
/// ~~~{.cpp}
/// options.fCollections = {{"muons", {"Muon_pt", "Muon_eta", "Muon_phi"}, 4, "Muon_pt"}};
/// ~~~
struct RCollectionOptions {
   std::string fName;                ///< Name of the collection, used in messages and by language bindings.
   std::vector<std::string> fFields; ///< Vector columns of equal length in each entry, one value per object.
   std::size_t fMaxLength = 0;       ///< Objects kept per entry; the others are counted and dropped.
   /// Vector column ordering the objects before truncation, largest first; empty keeps the stored order.
   /// One of the fields, or another vector column of the same length that is read only for this.
   std::string fSortBy;
   ECollectionLayout fLayout = ECollectionLayout::kPadded;
   EDType fDType = EDType::kFloat32; ///< Element type of the collection's values.
};

/// Resampling towards balanced samples (RDataLoaderOptions::fSampling), of what fResampleBy says.
enum class ESampling : int {
   kNone,
   /// By dataframe, the majority keeps int(minority / fSamplingRatio) entries; by target, classes larger
   /// than (smallest class) / fSamplingRatio are cut to that size.
   kUndersampling,
   /// By dataframe, int(fSamplingRatio x majority) minority entries are drawn; by target, classes smaller
   /// than fSamplingRatio x (largest class) are repeated up to that size.
   kOversampling
};

/// What resampling (RDataLoaderOptions::fSampling) balances.
enum class ESampleBy : int {
   /// Two dataframes, as in ROOT's own loader: the one with more entries in a split is its majority
   /// (the second on a tie), the other its minority, whatever the targets hold. Each split is resampled
   /// on its own; unshuffled, the entries drawn come first (the majority's first ones, or the minority's
   /// over and over), then the other dataframe's.
   kDataFrame,
   /// The classes of the single target (whole-number labels), any number of them and of dataframes,
   /// in the training split only, so that validation measures the true mixture.
   kTarget
};

/// How the entries of an epoch are ordered (RDataLoaderOptions::fShuffle).
enum class EShuffle : int {
   kNone,   ///< In file order, every epoch; a validation split takes each dataframe's last entries.
   kWindow, ///< Reading units in a new order every epoch, entries mixed within the shuffle window.
   /// The exact shuffle: every batch a uniform sample of the whole split. The first epoch of a split reads it
   /// in file order (the validation entries drawn as for kWindow) and scatters its batches' rows at random
   /// over pile files of about one window each (RDataLoaderOptions::fCacheDirectory); every epoch then reads
   /// the piles in a new order, each pile's rows in a new order.
   kGlobal
};

/// \brief Kinematic reweighting (RDataLoaderOptions::fReweight): weights that give every class the distribution
/// of some scalar columns that a reference has, counted on the training split in the pass that counts classes.
///
/// The columns' bin edges make a grid of bins; an entry of class c in bin b weighs
/// reference(b) / (share of class c's training entries in bin b), so that the weighted distribution of every
/// class over the grid is the reference's, and a class's weights sum to its entries times the reference's
/// share of the bins it fills. The reference is flat over the bins the training split fills, or a class's own
/// distribution (whose entries then weigh 1).
/// ~~~{.cpp}
/// options.fReweight = {{"Jet_pt", "Jet_eta"}, {{20, 30, 50, 100, 200, 1000}, {-2.5, -1, 0, 1, 2.5}}};
/// ~~~
struct RReweightOptions {
   std::vector<std::string> fColumns; ///< Scalar columns among the loaded ones; empty turns reweighting off.
   /// Per column, increasing bin edges; a value below the first edge counts in the first bin, above the last
   /// (or NaN) in the last.
   std::vector<std::vector<double>> fEdges;
   bool fFlat = true;                ///< Reweight to a flat distribution over the bins the training split fills,
   std::int64_t fReferenceClass = 0; ///< or, when !fFlat, to the distribution of this class.

   bool IsActive() const { return !fColumns.empty(); }
};

/// The shuffle window when RDataLoaderOptions::fBatchesInMemory is 0 (the default), in bytes of batch memory:
/// large enough to mix many clusters of typical files, small enough for a laptop.
inline constexpr std::size_t kDefaultWindowBytes = 48 << 20;

/// \brief An option, or a combination of options, that the loader cannot honour: thrown by
/// RDataLoaderOptions::Checked(), hence by RDataLoader's constructor before any thread starts.
class ROptionError : public std::invalid_argument {
   std::string fOption;

public:
   ROptionError(std::string option, const std::string &message)
      : std::invalid_argument(message), fOption(std::move(option))
   {
   }
   /// The option at fault, as the field of RDataLoaderOptions that holds it (for example "fLoadEager").
   const std::string &GetOption() const { return fOption; }
};

/// How the messages of RDataLoaderOptions::Checked() spell what they name: a field ("fLoadEager") or a setting
/// ("fShuffle = EShuffle::kGlobal") found here is written as its value, any other as in C++. A language binding
/// passes the spelling of its own keywords, so that the rules are written once, in Checked().
using ROptionSpelling = std::map<std::string, std::string>;

/// Which part of the dataset a loop runs over.
enum class ESplit : int { kTrain = 0, kValidation = 1 };

/// \brief Options of ROOT::ML::RDataLoader; every field has a usable default.
///
/// ~~~{.cpp}
/// ROOT::ML::RDataLoaderOptions opts;
/// opts.fBatchSize = 256;
/// opts.fTargets = {"label"};
/// opts.fValidationSplit = 0.2;
/// ~~~
struct RDataLoaderOptions {
   std::size_t fBatchSize = 64;       ///< Entries per batch.
   /// Shuffle window, in batches: entries are mixed within this many batches. 0: as many as fit in
   /// kDefaultWindowBytes (RDataLoader::GetWindowBatches() says how many).
   std::size_t fBatchesInMemory = 0;
   bool fLoadEager = false;           ///< The window spans the whole split: a full in-memory permutation.
   std::vector<std::string> fTargets; ///< Columns delivered as targets (y), in this order.
   std::string fWeights;              ///< Column delivered as per-entry weight (w); needs a target.
   /// Multiply the weights by the weight of each entry's class (the single target, whole numbers):
   /// total / (classes x entries of the class) in the training split, so that every class weighs the same.
   bool fBalanceClasses = false;
   /// Or multiply them by these weights, one for every class of the data.
   std::map<std::int64_t, double> fClassWeights;
   /// Normalisation of every feature column, fitted on the training split when the loader is built
   /// (RDataLoader::GetNormalization()).
   ENormalization fNormalize = ENormalization::kNone;
   /// Normalisation of the feature columns named, instead of fNormalize.
   std::map<std::string, ENormalization> fNormalizeColumns;
   /// Resample the dataframes or the classes (fResampleBy) in every epoch, drawn anew each epoch from fSeed.
   ESampling fSampling = ESampling::kNone;
   ESampleBy fResampleBy = ESampleBy::kDataFrame; ///< What fSampling balances.
   double fSamplingRatio = 1.; ///< Minority (smallest class) over majority (largest) after resampling, in (0, 1].
   bool fReplacement = false;  ///< Resample by independent draws (duplicates, omissions) rather than evenly.
   double fValidationSplit = 0.;      ///< Fraction of the entries reserved for validation, in [0, 1).
   /// Integer column (an event number) that alone decides the split of each entry, instead of a draw
   /// from fSeed: validation holds fold fFold of fNumFolds (key mod fNumFolds == fFold) or, without
   /// folds, the keys whose hash falls below fValidationSplit.
   std::string fSplitKey;
   std::size_t fNumFolds = 0; ///< Folds of the key split; 0 splits by fValidationSplit.
   std::size_t fFold = 0;     ///< The validation fold, in [0, fNumFolds).
   EShuffle fShuffle = EShuffle::kWindow; ///< How the entries of each epoch are ordered.
   /// Where EShuffle::kGlobal keeps its piles, in a directory of its own that the loader removes; empty: the
   /// system's temporary directory. The piles take the bytes of the split's delivered rows.
   std::string fCacheDirectory;
   bool fDropRemainder = true;        ///< Drop the last, incomplete batch of each split.
   std::uint64_t fSeed = 1;           ///< Seed of every random choice: same seed, bit-identical epochs.
   std::map<std::string, std::size_t> fMaxVecSizes; ///< Length each vector column is padded or truncated to.
   double fVecPadding = 0.; ///< Value written past the end of shorter vectors and in empty collection slots.
   std::map<std::string, EDType> fDTypes; ///< Output type per column; float32 when absent.
   /// Processes that share the dataset, for distributed data-parallel training: every epoch is cut into
   /// this many disjoint shards of equal size, drawn from fSeed, which must be the same in every process.
   std::size_t fWorldSize = 1;
   std::size_t fRank = 0; ///< The shard this process reads, in [0, fWorldSize).
   /// Object collections, each read from some of the vector columns instead of flat features.
   std::vector<RCollectionOptions> fCollections;
   /// Threads reading the files in parallel, straight into the batches: TTree baskets and RNTuple pages
   /// (GetReadPath() says which columns). 0 reads every dataframe through its event loop (one thread).
   std::size_t fReadThreads = 2;
   /// Reweighting of every class to a reference distribution of some scalar columns (none by default).
   RReweightOptions fReweight;
   /// Where the passes the constructor runs (counting the entries that pass the Filters, class counts,
   /// normalisation fit) report how far they are, for a display on another thread (the loader makes one of
   /// its own when none is given).
   std::shared_ptr<RProgress> fProgress;

   /// Whether batches carry weights that depend on the class (fBalanceClasses, fClassWeights or fReweight).
   bool IsClassWeighted() const { return fBalanceClasses || !fClassWeights.empty() || fReweight.IsActive(); }

   /// These options, checked for a loader of `columns` (with `numTypes` column types) over `numDataFrames`
   /// dataframes; the messages name options as `spelling` says.
   /// \throws ROptionError naming the option and the way out
   RDataLoaderOptions Checked(const std::vector<std::string> &columns, std::size_t numTypes,
                              std::size_t numDataFrames, const ROptionSpelling &spelling = {}) const
   {
      const RChecker check{spelling};
      if (columns.size() != numTypes)
         check.Fail("", std::to_string(columns.size()) + " column names given for " + std::to_string(numTypes) +
                           " column types");
      if (numDataFrames == 0)
         check.Fail("", "no dataframe given");
      if (fBatchSize == 0)
         check.Fail("fBatchSize", check.Say("fBatchSize") + " must be positive");
      if (!(fValidationSplit >= 0. && fValidationSplit < 1.))
         check.Fail("fValidationSplit", check.Say("fValidationSplit") + " must be in [0, 1)");
      CheckSplitKey(check);
      if (fWorldSize == 0)
         check.Fail("fWorldSize", check.Say("fWorldSize") + " must be positive");
      if (fRank >= fWorldSize)
         check.Fail("fRank", check.Say("fRank") + " must be in [0, " + check.Say("fWorldSize") + ") = [0, " +
                                std::to_string(fWorldSize) + "); got " + std::to_string(fRank));
      if (!fWeights.empty() && fTargets.empty())
         check.Fail("fWeights", check.Say("fWeights") + " needs a target column (" + check.Say("fTargets") +
                                   "): weights scale a loss, which needs targets");
      CheckSampling(check, numDataFrames);
      if (fBalanceClasses && !fClassWeights.empty())
         check.Fail("fClassWeights", "choose either fBalanceClasses or given fClassWeights, not both");
      for (const auto &[label, weight] : fClassWeights)
         if (!(weight >= 0. && std::isfinite(weight)))
            check.Fail("fClassWeights", check.Say("fClassWeights") + ": the weight of class " +
                                           std::to_string(label) + " must be a finite non-negative number; got " +
                                           std::to_string(weight));
      CheckReweighting(check);
      CheckGlobalShuffle(check);
      CheckNamedColumns(columns, check);
      return *this;
   }

private:
   /// Throws the ROptionError of a check, its message spelled for the caller.
   struct RChecker {
      const ROptionSpelling &fSpelling;

      std::string Say(const std::string &name) const
      {
         const auto spelled = fSpelling.find(name);
         return spelled == fSpelling.end() ? name : spelled->second;
      }
      [[noreturn]] void Fail(const std::string &option, const std::string &what) const
      {
         throw ROptionError(option, Say("ROOT::ML::RDataLoader") + ": " + what);
      }
   };

   void CheckSplitKey(const RChecker &check) const
   {
      if (fNumFolds > 0 && fSplitKey.empty())
         check.Fail("fNumFolds", "folds (" + check.Say("fNumFolds") + ") need a split key column (" +
                                    check.Say("fSplitKey") + "), the integer column (an event number) defining them");
      if (fNumFolds == 1 || fFold >= std::max<std::size_t>(fNumFolds, 1))
         check.Fail("fFold", check.Say("fFold") + " must be in [0, " + check.Say("fNumFolds") +
                                ") with at least 2 folds; got fold " + std::to_string(fFold) + " of " +
                                std::to_string(fNumFolds));
      if (!fSplitKey.empty() && (fNumFolds == 0) == (fValidationSplit == 0.))
         check.Fail("fSplitKey", "a split key needs either fNumFolds or a positive fValidationSplit");
   }

   void CheckSampling(const RChecker &check, std::size_t numDataFrames) const
   {
      if (fSampling == ESampling::kNone)
         return;
      const auto sampling = check.Say("fSampling");
      if (!(fSamplingRatio > 0. && fSamplingRatio <= 1.))
         check.Fail("fSamplingRatio", check.Say("fSamplingRatio") +
                                         " must be in (0, 1] (minority over majority after resampling); got " +
                                         std::to_string(fSamplingRatio));
      if (IsClassWeighted())
         check.Fail("fSampling", "choose either resampling (" + sampling + ") or weighting (" +
                                    check.Say("class weights") + "), not both");
      // Each rank's shard holds other classes in every epoch: resampled shards would differ in size.
      if (fWorldSize > 1)
         check.Fail("fSampling", "resampling (" + sampling + ") is not available with " + check.Say("fWorldSize") +
                                    " > 1: every rank's shard holds other classes in each epoch, so resampled shards "
                                    "would differ in size; use " +
                                    check.Say("fBalanceClasses") + " for distributed training");
      if (fResampleBy == ESampleBy::kDataFrame && numDataFrames != 2)
         check.Fail("fResampleBy", "resampling by dataframe (" + sampling +
                                      ") needs exactly two dataframes, the majority and the minority; got " +
                                      std::to_string(numDataFrames) +
                                      ": pass the majority and the minority, or set " +
                                      check.Say("fResampleBy = ESampleBy::kTarget") +
                                      " to resample the classes of the target");
   }

   void CheckReweighting(const RChecker &check) const
   {
      if (!fReweight.IsActive())
         return;
      const auto reweight = check.Say("fReweight");
      if (fTargets.size() != 1)
         check.Fail("fReweight", reweight + " weighs the classes of a single target of class labels; give one target "
                                            "column (" + check.Say("fTargets") + ")");
      if (fReweight.fEdges.size() != fReweight.fColumns.size())
         check.Fail("fReweight", reweight + ": give bin edges for each of the " +
                                    std::to_string(fReweight.fColumns.size()) + " columns; got " +
                                    std::to_string(fReweight.fEdges.size()));
      double bins = 1.;
      for (std::size_t v = 0; v < fReweight.fColumns.size(); ++v) {
         const auto &edges = fReweight.fEdges[v];
         const auto notAbove = [](double a, double b) { return a >= b; };
         const bool increasing = std::adjacent_find(edges.begin(), edges.end(), notAbove) == edges.end();
         if (edges.size() < 2 || !increasing || !std::all_of(edges.begin(), edges.end(), [](double e) {
                return std::isfinite(e);
             }))
            check.Fail("fReweight", reweight + ": the bin edges of '" + fReweight.fColumns[v] +
                                       "' must be at least two finite numbers, strictly increasing");
         bins *= static_cast<double>(edges.size() - 1);
      }
      if (bins > 1e6)
         check.Fail("fReweight", reweight + ": the bins of all columns make " +
                                    std::to_string(static_cast<long long>(bins)) +
                                    " cells; use fewer (at most a million), or reweight fewer columns at once");
   }

   /// What the piles of the exact shuffle, one copy of each entry of fixed size, cannot honour.
   void CheckGlobalShuffle(const RChecker &check) const
   {
      const auto global = check.Say("fShuffle = EShuffle::kGlobal");
      if (fShuffle != EShuffle::kGlobal) {
         if (!fCacheDirectory.empty())
            check.Fail("fCacheDirectory", check.Say("fCacheDirectory") +
                                             " is where the exact shuffle keeps its piles; it needs " + global);
         return;
      }
      const auto refused = global + " cannot be combined with ";
      if (fLoadEager)
         check.Fail("fLoadEager",
                    refused + check.Say("fLoadEager") + ", which already shuffles the whole split in memory: choose one");
      if (fSampling != ESampling::kNone)
         check.Fail("fSampling", refused + "resampling (" + check.Say("fSampling") +
                                    "): it draws new entries every epoch, but the piles hold one copy of each; use " +
                                    check.Say("class weights") + " instead");
      if (fWorldSize > 1)
         check.Fail("fWorldSize", refused + check.Say("fWorldSize") +
                                     " > 1: every rank reads a different shard every epoch; use the streaming shuffle (" +
                                     check.Say("fShuffle = EShuffle::kWindow") + ") with a larger " +
                                     check.Say("fBatchesInMemory") + " for distributed training");
      for (const auto &c : fCollections)
         if (c.fLayout == ECollectionLayout::kPacked)
            check.Fail("fCollections", refused + "packed collections (" + check.Say("ECollectionLayout::kPacked") +
                                          "), whose rows vary in size; use " +
                                          check.Say("ECollectionLayout::kPadded"));
   }

   /// That the columns the options name are among `columns`, and of the right kind.
   void CheckNamedColumns(const std::vector<std::string> &columns, const RChecker &check) const
   {
      auto known = [&](const std::string &c) { return std::find(columns.begin(), columns.end(), c) != columns.end(); };
      auto notLoaded = [&](const std::string &option, const std::string &column) {
         check.Fail(option, check.Say(option) + " names '" + column + "', which is not among the columns loaded");
      };
      for (const auto &t : fTargets)
         if (!known(t))
            notLoaded("fTargets", t);
      if (!fWeights.empty() && !known(fWeights))
         notLoaded("fWeights", fWeights);
      for (const auto &c : fReweight.fColumns)
         if (!known(c))
            notLoaded("fReweight", c);
      auto collected = [&](const std::string &c) {
         return std::any_of(fCollections.begin(), fCollections.end(), [&](const RCollectionOptions &o) {
            return std::find(o.fFields.begin(), o.fFields.end(), c) != o.fFields.end();
         });
      };
      for (const auto &[column, method] : fNormalizeColumns)
         if (!known(column) || column == fWeights || collected(column) ||
             std::find(fTargets.begin(), fTargets.end(), column) != fTargets.end())
            check.Fail("fNormalizeColumns", check.Say("fNormalizeColumns") + " names '" + column +
                                               "', which is not a feature column");
   }
};

} // namespace ML
} // namespace ROOT

#endif
