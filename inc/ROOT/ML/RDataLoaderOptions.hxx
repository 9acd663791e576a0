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
   std::size_t fBatchesInMemory = 10; ///< Shuffle window, in batches: entries are mixed within this many batches.
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
   /// dataframes.
   /// \throws std::invalid_argument naming the option and the way out
   RDataLoaderOptions Checked(const std::vector<std::string> &columns, std::size_t numTypes,
                              std::size_t numDataFrames) const
   {
      const std::string where = "ROOT::ML::RDataLoader: ";
      auto fail = [&](const std::string &what) { throw std::invalid_argument(where + what); };
      if (columns.size() != numTypes)
         fail(std::to_string(columns.size()) + " column names given for " + std::to_string(numTypes) + " column types");
      if (numDataFrames == 0)
         fail("no dataframe given");
      if (fBatchSize == 0)
         fail("fBatchSize must be positive");
      if (fBatchesInMemory == 0)
         fail("fBatchesInMemory must be positive");
      if (!(fValidationSplit >= 0. && fValidationSplit < 1.))
         fail("fValidationSplit must be in [0, 1)");
      if (fNumFolds > 0 && fSplitKey.empty())
         fail("folds (fNumFolds) need a split key column (fSplitKey)");
      if (fNumFolds == 1 || fFold >= std::max<std::size_t>(fNumFolds, 1))
         fail("fFold must be in [0, fNumFolds) with at least 2 folds; got fold " + std::to_string(fFold) + " of " +
              std::to_string(fNumFolds));
      if (!fSplitKey.empty() && (fNumFolds == 0) == (fValidationSplit == 0.))
         fail("a split key needs either fNumFolds or a positive fValidationSplit");
      if (fWorldSize == 0)
         fail("fWorldSize must be positive");
      if (fRank >= fWorldSize)
         fail("fRank must be in [0, fWorldSize); got fRank " + std::to_string(fRank) + " with fWorldSize " +
              std::to_string(fWorldSize));
      if (!fWeights.empty() && fTargets.empty())
         fail("a weights column needs a target column");
      if (fSampling != ESampling::kNone) {
         if (!(fSamplingRatio > 0. && fSamplingRatio <= 1.))
            fail("fSamplingRatio must be in (0, 1]");
         if (IsClassWeighted())
            fail("choose either resampling (fSampling) or class weights, not both");
         // Each rank's shard holds other classes in every epoch: resampled shards would differ in size.
         if (fWorldSize > 1)
            fail("resampling (fSampling) is not available with fWorldSize > 1; use class weights for distributed "
                 "training");
         if (fResampleBy == ESampleBy::kDataFrame && numDataFrames != 2)
            fail("resampling by dataframe (fResampleBy) needs exactly two dataframes, the majority and the minority; "
                 "got " + std::to_string(numDataFrames) +
                 ". To resample the classes of the target instead, set fResampleBy = ESampleBy::kTarget");
      }
      if (fBalanceClasses && !fClassWeights.empty())
         fail("choose either fBalanceClasses or given fClassWeights, not both");
      for (const auto &[label, weight] : fClassWeights)
         if (!(weight >= 0. && std::isfinite(weight)))
            fail("fClassWeights: the weight of class " + std::to_string(label) +
                 " must be a finite non-negative number; got " + std::to_string(weight));
      CheckReweighting(fail);
      CheckGlobalShuffle(fail);
      CheckNamedColumns(columns, fail);
      return *this;
   }

private:
   template <typename Fail>
   void CheckReweighting(Fail &&fail) const
   {
      if (!fReweight.IsActive())
         return;
      if (fTargets.size() != 1)
         fail("reweighting (fReweight) needs a single target of class labels");
      if (fReweight.fEdges.size() != fReweight.fColumns.size())
         fail("fReweight: give bin edges (fEdges) for each of the " + std::to_string(fReweight.fColumns.size()) +
              " columns; got " + std::to_string(fReweight.fEdges.size()));
      double bins = 1.;
      for (std::size_t v = 0; v < fReweight.fColumns.size(); ++v) {
         const auto &edges = fReweight.fEdges[v];
         const auto notAbove = [](double a, double b) { return a >= b; };
         const bool increasing = std::adjacent_find(edges.begin(), edges.end(), notAbove) == edges.end();
         if (edges.size() < 2 || !increasing || !std::all_of(edges.begin(), edges.end(), [](double e) {
                return std::isfinite(e);
             }))
            fail("fReweight: the bin edges of '" + fReweight.fColumns[v] +
                 "' must be at least two finite numbers, strictly increasing");
         bins *= static_cast<double>(edges.size() - 1);
      }
      if (bins > 1e6)
         fail("fReweight: the bins of all columns make " + std::to_string(static_cast<long long>(bins)) +
              " cells; use fewer (at most a million), or reweight fewer columns at once");
   }

   /// What the piles of the exact shuffle, one copy of each entry of fixed size, cannot honour.
   template <typename Fail>
   void CheckGlobalShuffle(Fail &&fail) const
   {
      if (fShuffle != EShuffle::kGlobal) {
         if (!fCacheDirectory.empty())
            fail("fCacheDirectory is where EShuffle::kGlobal keeps its piles; it needs fShuffle = EShuffle::kGlobal");
         return;
      }
      const std::string refused = "the exact shuffle (EShuffle::kGlobal) cannot be combined with ";
      if (fLoadEager)
         fail(refused + "fLoadEager, which already shuffles the whole split in memory: choose one");
      if (fSampling != ESampling::kNone)
         fail(refused + "resampling (fSampling), which draws new entries every epoch; use class weights instead");
      if (fWorldSize > 1)
         fail(refused + "fWorldSize > 1, where every rank reads a different shard every epoch; use EShuffle::kWindow "
                        "with a larger fBatchesInMemory");
      for (const auto &c : fCollections)
         if (c.fLayout == ECollectionLayout::kPacked)
            fail(refused + "packed collections, whose rows vary in size; use ECollectionLayout::kPadded");
   }

   /// That the columns the options name are among `columns`, and of the right kind.
   template <typename Fail>
   void CheckNamedColumns(const std::vector<std::string> &columns, Fail &&fail) const
   {
      auto known = [&](const std::string &c) { return std::find(columns.begin(), columns.end(), c) != columns.end(); };
      for (const auto &t : fTargets)
         if (!known(t))
            fail("target '" + t + "' is not among the columns");
      if (!fWeights.empty() && !known(fWeights))
         fail("weights '" + fWeights + "' is not among the columns");
      auto collected = [&](const std::string &c) {
         return std::any_of(fCollections.begin(), fCollections.end(), [&](const RCollectionOptions &o) {
            return std::find(o.fFields.begin(), o.fFields.end(), c) != o.fFields.end();
         });
      };
      for (const auto &c : fReweight.fColumns)
         if (!known(c))
            fail("fReweight names '" + c + "', which is not among the columns");
      for (const auto &[column, method] : fNormalizeColumns)
         if (!known(column) || column == fWeights || collected(column) ||
             std::find(fTargets.begin(), fTargets.end(), column) != fTargets.end())
            fail("fNormalizeColumns names '" + column + "', which is not a feature column");
   }
};

} // namespace ML
} // namespace ROOT

#endif
