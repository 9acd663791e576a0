/// \file ROOT/ML/RDataLoader.hxx
/// \brief ROOT::ML::RDataLoader: shuffled mini-batches from RDataFrames, loaded on a background thread.

#ifndef ROOT_ML_RDataLoader
#define ROOT_ML_RDataLoader

#include "ROOT/ML/Detail/RClassWeights.hxx"
#include "ROOT/ML/Detail/RCollectionWriter.hxx"
#include "ROOT/ML/Detail/RColumnWriter.hxx"
#include "ROOT/ML/Detail/RDeferredForeach.hxx"
#include "ROOT/ML/Detail/RKeySplit.hxx"
#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"
#include "ROOT/ML/Detail/RResampler.hxx"
#include "ROOT/ML/Detail/RNTupleSource.hxx"
#include "ROOT/ML/Detail/RShuffleBuffer.hxx"
#include "ROOT/ML/Detail/RTreeSource.hxx"
#include "ROOT/ML/RBatch.hxx"
#include "ROOT/ML/RBatchQueue.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"
#include "ROOT/ML/RRunningStatistics.hxx"
#include "ROOT/ML/RTensorView.hxx"

#include <ROOT/RDataFrame.hxx>
#include <TFile.h>
#include <TROOT.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {

/// What one epoch of one split did, filled in by the loading thread.
struct REpochStats {
   std::uint64_t fEntriesRead = 0;     ///< Entries copied into batches.
   std::uint64_t fEntriesFromSources = 0; ///< Entries decoded from the files by a source, not by an event loop.
   std::uint64_t fBatches = 0;         ///< Batches published.
   std::uint64_t fBytesRead = 0;       ///< Bytes read from files by the whole process during the epoch.
   double fSecondsLoading = 0.;        ///< Wall time of the loading thread.
   /// Objects beyond the maximum length of each collection (RDataLoaderOptions::fCollections), in the
   /// entries delivered.
   std::vector<std::uint64_t> fTruncatedObjects;
};

/// \brief Streams shuffled batches of RDataFrame entries into tensors, one background thread per loader.
///
/// \tparam Columns the C++ type of each column, in the order of the column names: arithmetic types,
///         or RVec / std::vector / std::array of them (these need RDataLoaderOptions::fMaxVecSizes).
///
/// Each column value is copied exactly once, straight from RDataFrame into the memory of the batch it
/// is drawn for. Memory held: the shuffle window (fBatchSize x fBatchesInMemory entries being filled),
/// at most as many finished batches in the queue, and the batches the user still holds.
///
/// Vector columns named by RDataLoaderOptions::fCollections are no flat features: each collection is
/// written as a tensor of its own, padded with a mask or packed with offsets (RBatch::GetCollection()).
///
/// ~~~{.cpp}
/// ROOT::RDataFrame df("tree", "data.root");
/// ROOT::ML::RDataLoaderOptions opts;
/// opts.fBatchSize = 128;
/// opts.fTargets = {"label"};
/// opts.fValidationSplit = 0.25;
/// ROOT::ML::RDataLoader<float, float, int> loader(df, {"x", "y", "label"}, opts);
/// for (const auto &batch : loader.Train()) {
///    auto x = batch.GetFeatures(); // RTensorView<float>, shape {rows, 2}
///    auto y = batch.GetTargets();  // RTensorView<float>, shape {rows, 1}
/// }
/// ~~~
/// From Python, `ROOT.ML.RDataLoader(df, batch_size=128, target="label")` builds the same engine.
///
/// For distributed data-parallel training, each process sets RDataLoaderOptions::fRank and fWorldSize
/// (and the same fSeed): every epoch is then cut into fWorldSize disjoint shards of equal size, and each
/// process reads only its own shard, so that all deliver the same number of batches.
///
/// With RDataLoaderOptions::fSplitKey, each entry's split is decided by an integer column (an event
/// number) alone, in folds or by a hash of the key, so that it does not change with the files or the seed.
///
/// An epoch is a function of (fSeed, split, epoch number) alone. To resume an interrupted run, set the
/// epoch counters with SetNumEpochs() and start the interrupted epoch again with
/// StartEpoch(split, batchesAlreadyDelivered): it delivers exactly the batches that were still to come.
template <typename... Columns>
class RDataLoader {
   static_assert(sizeof...(Columns) > 0, "ROOT::ML::RDataLoader needs at least one column type");
   static_assert(Detail::AreSupportedColumnTypes<Columns...>(),
                 "ROOT::ML::RDataLoader: every column must be an arithmetic type or an RVec/std::vector/std::array "
                 "of one; Define a numeric column from strings or objects first");

   /// The input dataframes; with a split by key, their training entries followed by their validation entries.
   std::vector<ROOT::RDF::RNode> fNodes;
   std::size_t fNumInputs; ///< Dataframes given by the user.
   std::vector<std::string> fColumnNames;
   RDataLoaderOptions fOptions;
   std::array<Detail::RColumnSlot, sizeof...(Columns)> fSlots;
   Detail::RCollectionWriter fCollections; ///< Checked and laid out once; each epoch writes with a copy.
   RBatchLayout fLayout;
   static constexpr std::size_t kNoColumn = sizeof...(Columns);
   std::size_t fLabelColumn = kNoColumn;  ///< The class label, when weighting or resampling by class.
   std::size_t fWeightColumn = kNoColumn; ///< The event weight, if any.
   Detail::RClassWeights fClassWeights;
   Detail::RResamplingPlan fResampling; ///< Active with RDataLoaderOptions::fSampling.
   Detail::RReadingPlan fPlan;
   /// Per dataframe, the source reading its columns from its files, or nullptr where its entries go through
   /// its event loop (and then why, in fReadPaths).
   std::vector<std::unique_ptr<Detail::RSource>> fSources;
   std::vector<std::string> fReadPaths; ///< Per dataframe, how its columns are read, for statistics.
   Detail::RDeferredForeach<Columns...> fForeach;
   std::array<std::uint64_t, 2> fEpochs{0, 0};
   std::size_t fWorker = 0;     ///< This process's part of the rank's shard (SetWorker()).
   std::size_t fNumWorkers = 1;

   /// Statistics written by the loading thread and read by the consumer at any time.
   class RStatsRecord {
      mutable std::mutex fMutex;
      REpochStats fStats;

   public:
      void Set(const REpochStats &stats)
      {
         std::lock_guard<std::mutex> lock(fMutex);
         fStats = stats;
      }
      REpochStats Get() const
      {
         std::lock_guard<std::mutex> lock(fMutex);
         return fStats;
      }
   };

   std::shared_ptr<RBatchQueue> fQueue;
   std::shared_ptr<RStatsRecord> fStats;
   std::thread fThread;

   /// Thrown inside an event loop to abandon it when the consumer stops early.
   struct RStopRequest {};

public:
   /// An iterable over one epoch of one split: each begin() starts a new epoch.
   class REpoch {
      RDataLoader *fLoader;
      ESplit fSplit;

   public:
      class RIterator {
         RDataLoader *fLoader = nullptr;
         std::shared_ptr<RBatch> fBatch;

      public:
         using iterator_category = std::input_iterator_tag;
         using value_type = RBatch;
         using difference_type = std::ptrdiff_t;
         using pointer = const RBatch *;
         using reference = const RBatch &;

         RIterator() = default;
         explicit RIterator(RDataLoader *loader) : fLoader(loader), fBatch(loader->NextBatch()) {}
         const RBatch &operator*() const { return *fBatch; }
         const RBatch *operator->() const { return fBatch.get(); }
         RIterator &operator++()
         {
            fBatch = fLoader->NextBatch();
            return *this;
         }
         bool operator==(const RIterator &other) const { return fBatch == other.fBatch; }
         bool operator!=(const RIterator &other) const { return !(*this == other); }
      };

      REpoch(RDataLoader &loader, ESplit split) : fLoader(&loader), fSplit(split) {}
      RIterator begin()
      {
         fLoader->StartEpoch(fSplit);
         return RIterator(fLoader);
      }
      RIterator end() const { return RIterator(); }
   };

   /// \param df the dataframe (or any node of it: Filters and Defines are honoured)
   /// \param columns the columns to load, in the order of the template arguments
   RDataLoader(ROOT::RDF::RNode df, const std::vector<std::string> &columns, const RDataLoaderOptions &options = {})
      : RDataLoader(std::vector<ROOT::RDF::RNode>{std::move(df)}, columns, options)
   {
   }

   /// Several dataframes with the same columns (for example one per physics process) form one dataset.
   RDataLoader(std::vector<ROOT::RDF::RNode> dfs, const std::vector<std::string> &columns,
               const RDataLoaderOptions &options = {});

   ~RDataLoader();
   RDataLoader(const RDataLoader &) = delete;
   RDataLoader &operator=(const RDataLoader &) = delete;

   /// The training split (the whole dataset when there is no validation split).
   REpoch Train() { return REpoch(*this, ESplit::kTrain); }
   /// The validation split.
   REpoch Validation() { return REpoch(*this, ESplit::kValidation); }

   /// Starts the next epoch of `split` on the loading thread, abandoning any epoch in progress.
   /// \param skipBatches batches of the epoch not to deliver, at most GetNumBatches(split): the epoch
   ///        then delivers the rest, bit for bit as an epoch started without skipping would. The
   ///        shuffle windows that hold only skipped batches are not read.
   void StartEpoch(ESplit split, std::uint64_t skipBatches = 0);

   /// The next batch of the running epoch, or nullptr when it is over. Blocks until one is ready;
   /// rethrows, in the caller's thread, an error raised on the loading thread.
   std::shared_ptr<RBatch> NextBatch();

   /// Stops the loading thread (within one event-loop step) and frees the batches it still holds.
   void StopEpoch();

   /// Entries this process reads in an epoch of `split`: its shard, which is the whole split when
   /// fWorldSize is 1. The last (entries of the split) % fWorldSize entries of each epoch's order, which
   /// would make the shards unequal, are read by no process.
   /// With fSampling, the training split delivers its resampled number of entries instead.
   std::uint64_t GetNumEntries(ESplit split) const
   {
      if (IsResampled(split))
         return fResampling.GetNumDelivered();
      const auto [begin, end] = GetWorkerEntries(split);
      return end - begin;
   }
   std::uint64_t GetNumBatches(ESplit split) const
   {
      const auto n = GetNumEntries(split);
      return fOptions.fDropRemainder ? n / fOptions.fBatchSize : (n + fOptions.fBatchSize - 1) / fOptions.fBatchSize;
   }
   /// Rows of the last, incomplete batch of an epoch; 0 when every batch is full or the rest is dropped.
   std::uint64_t GetLastBatchSize(ESplit split) const
   {
      return fOptions.fDropRemainder ? 0 : GetNumEntries(split) % fOptions.fBatchSize;
   }
   /// Count, mean, spread and range of every feature element over the entries of `split`, in one pass
   /// over the data (padding of vector columns is not counted). Runs on the calling thread.
   std::vector<RRunningStatistics> ComputeFeatureStatistics(ESplit split = ESplit::kTrain);

   /// Normalises the features from the next epoch on: element i becomes (value - shift[i]) * scale[i].
   /// Both vectors have one entry per feature element (see ComputeFeatureStatistics()).
   void SetFeatureTransform(const std::vector<double> &shift, const std::vector<double> &scale);

   /// How many entries of `split` carry each class label (the single target, whole numbers).
   std::map<std::int64_t, std::uint64_t> CountClasses(ESplit split = ESplit::kTrain);

   /// From the next epoch on, the weights tensor holds weights[class of label] x the event weight.
   void SetClassWeights(std::map<std::int64_t, double> weights);

   /// Batches in the shuffle window of `split` (and in the queue of finished batches).
   std::uint64_t GetWindowBatches(ESplit split) const
   {
      return fOptions.fLoadEager ? std::max<std::uint64_t>(1, (GetNumEntries(split) + fOptions.fBatchSize - 1) /
                                                                  fOptions.fBatchSize)
                                 : fOptions.fBatchesInMemory;
   }
   /// Makes this process worker `worker` of `numWorkers` (torch.utils.data.DataLoader's worker processes)
   /// that share each epoch of the rank's shard: each reads its own whole batches of it, so that together
   /// they deliver the batches, and as many, that one process would.
   void SetWorker(std::size_t worker, std::size_t numWorkers);

   /// Epochs started so far for `split`.
   std::uint64_t GetNumEpochs(ESplit split) const { return fEpochs[static_cast<int>(split)]; }
   /// Sets the epochs started so far for `split`: the next StartEpoch() runs epoch number `epochs`.
   void SetNumEpochs(ESplit split, std::uint64_t epochs);
   /// Replaces fSeed and draws the train/validation split again, as a loader built with `seed` would
   /// have: for resuming, in a loader whose seed was drawn at random, a run saved with that seed.
   void SetSeed(std::uint64_t seed);
   /// With fSampling: for each class label of the training split, its entries and the entries an
   /// epoch delivers (copies included).
   const std::map<std::int64_t, std::pair<std::uint64_t, std::uint64_t>> &GetResampledClasses() const
   {
      return fResampling.GetClasses();
   }
   /// A fingerprint of the dataset as the loader reads it (reading units and their entries after the
   /// filters): a run can only be resumed over a dataset with the same fingerprint.
   std::uint64_t GetDatasetDigest() const { return fPlan.GetDigest(); }
   /// How the columns of dataframe `d` are read: by a source ("TTree baskets"), or by its event loop, and why.
   const std::string &GetReadPath(std::size_t d) const { return fReadPaths.at(d); }
   const RBatchLayout &GetLayout() const { return fLayout; }
   const RDataLoaderOptions &GetOptions() const { return fOptions; }
   const std::vector<std::string> &GetColumnNames() const { return fColumnNames; }
   /// Statistics of the epoch that is running (updated after each reading unit) or ran last.
   REpochStats GetEpochStats() const { return fStats ? fStats->Get() : REpochStats{}; }

private:
   void CheckOptions() const
   {
      const std::string where = "ROOT::ML::RDataLoader: ";
      if (fColumnNames.size() != sizeof...(Columns))
         throw std::invalid_argument(where + std::to_string(fColumnNames.size()) + " column names given for " +
                                     std::to_string(sizeof...(Columns)) + " column types");
      if (fNodes.empty())
         throw std::invalid_argument(where + "no dataframe given");
      if (fOptions.fBatchSize == 0)
         throw std::invalid_argument(where + "fBatchSize must be positive");
      if (fOptions.fBatchesInMemory == 0)
         throw std::invalid_argument(where + "fBatchesInMemory must be positive");
      if (!(fOptions.fValidationSplit >= 0. && fOptions.fValidationSplit < 1.))
         throw std::invalid_argument(where + "fValidationSplit must be in [0, 1)");
      if (fOptions.fNumFolds > 0 && fOptions.fSplitKey.empty())
         throw std::invalid_argument(where + "folds (fNumFolds) need a split key column (fSplitKey)");
      if (fOptions.fNumFolds == 1 || fOptions.fFold >= std::max<std::size_t>(fOptions.fNumFolds, 1))
         throw std::invalid_argument(where + "fFold must be in [0, fNumFolds) with at least 2 folds; got fold " +
                                     std::to_string(fOptions.fFold) + " of " + std::to_string(fOptions.fNumFolds));
      if (!fOptions.fSplitKey.empty() && (fOptions.fNumFolds == 0) == (fOptions.fValidationSplit == 0.))
         throw std::invalid_argument(where + "a split key needs either fNumFolds or a positive fValidationSplit");
      if (fOptions.fWorldSize == 0)
         throw std::invalid_argument(where + "fWorldSize must be positive");
      if (fOptions.fRank >= fOptions.fWorldSize)
         throw std::invalid_argument(where + "fRank must be in [0, fWorldSize); got fRank " +
                                     std::to_string(fOptions.fRank) + " with fWorldSize " +
                                     std::to_string(fOptions.fWorldSize));
      if (!fOptions.fWeights.empty() && fOptions.fTargets.empty())
         throw std::invalid_argument(where + "a weights column needs a target column");
      if (fOptions.fSampling != ESampling::kNone) {
         if (!(fOptions.fSamplingRatio > 0. && fOptions.fSamplingRatio <= 1.))
            throw std::invalid_argument(where + "fSamplingRatio must be in (0, 1]");
         if (fOptions.fClassWeighted)
            throw std::invalid_argument(where + "choose either resampling (fSampling) or class weights, not both");
         // Each rank's shard holds other classes in every epoch: resampled shards would differ in size.
         if (fOptions.fWorldSize > 1)
            throw std::invalid_argument(where + "resampling (fSampling) is not available with fWorldSize > 1; "
                                                "use class weights for distributed training");
      }
      auto known = [this](const std::string &c) {
         return std::find(fColumnNames.begin(), fColumnNames.end(), c) != fColumnNames.end();
      };
      for (const auto &t : fOptions.fTargets)
         if (!known(t))
            throw std::invalid_argument(where + "target '" + t + "' is not among the columns");
      if (!fOptions.fWeights.empty() && !known(fOptions.fWeights))
         throw std::invalid_argument(where + "weights '" + fOptions.fWeights + "' is not among the columns");
   }

   /// Replaces each input by its training entries and appends its validation entries.
   void SplitNodesByKey()
   {
      const Detail::RKeySplit rule(fOptions);
      std::vector<ROOT::RDF::RNode> nodes;
      for (auto split : {ESplit::kTrain, ESplit::kValidation})
         for (auto &node : fNodes)
            nodes.push_back(rule.Select(node, split));
      fNodes = std::move(nodes);
   }

   /// Plans the resampled epochs from the class counts of the training split (one pass over the label).
   void PlanResampling()
   {
      if (fOptions.fSampling != ESampling::kNone)
         fResampling = Detail::RResamplingPlan(CountClasses(ESplit::kTrain), fOptions.fSampling, fOptions.fSamplingRatio);
   }

   bool IsResampled(ESplit split) const { return split == ESplit::kTrain && fResampling.IsActive(); }

   /// The entries [begin, end) of the rank's shard of `split` that this worker reads: whole batches of it,
   /// from batch numBatches * worker / fNumWorkers to the next worker's first; the last worker takes the
   /// rest, so that the remainder is what it is with one worker.
   std::pair<std::uint64_t, std::uint64_t> GetWorkerEntries(ESplit split) const
   {
      const auto entries = fPlan.GetShardEntries(split, fOptions.fWorldSize);
      const auto size = fOptions.fBatchSize;
      const auto batches = fOptions.fDropRemainder ? entries / size : (entries + size - 1) / size;
      const auto end = fWorker + 1 == fNumWorkers ? entries : batches * (fWorker + 1) / fNumWorkers * size;
      return {batches * fWorker / fNumWorkers * size, end};
   }
   /// Whether epochs are read in a shuffled order (the global shuffle reads in order and shuffles after).
   bool IsShuffled() const { return fOptions.fShuffle == EShuffle::kWindow; }
   /// Whether the validation entries are drawn from all over each dataframe rather than taken from its end.
   bool DrawsSplit() const { return fOptions.fShuffle != EShuffle::kNone; }

   /// Whether every column type is one that sources decode (see Detail::IsSourceReadable).
   static constexpr bool kSourceReadable = Detail::AllOf({Detail::IsSourceReadable<Columns>()...});

   /// The source for the format of `node`, if it can read every column.
   std::unique_ptr<Detail::RSource> CreateSource(ROOT::RDF::RNode &node, const std::vector<Detail::RColumnNumbers> &numbers,
                                                 std::string &whyNot) const
   {
      const auto format = ROOT::Internal::RDF::GetDataSourceLabel(node);
      if (format == "TTreeDS")
         return Detail::RTreeSource<>::Create(node, fColumnNames, numbers, fOptions.fReadThreads, whyNot);
      if (format == "RNTupleDS")
         return Detail::RNTupleSource<>::Create(node, fColumnNames, numbers, fOptions.fReadThreads, whyNot);
      whyNot = "no source reads a data source of type " + format;
      return nullptr;
   }

   /// Gives each dataframe the source that reads its columns from its files, where one can.
   void CreateSources()
   {
      fSources.resize(fNodes.size());
      fReadPaths.assign(fNodes.size(), "event loop");
      if constexpr (!kSourceReadable) {
         for (auto &path : fReadPaths)
            path += " (std::array columns are Defines)";
      } else {
         const std::vector<Detail::RColumnNumbers> numbers{Detail::NumbersOf<Columns>()...};
         for (std::size_t d = 0; d < fNodes.size(); ++d) {
            std::string whyNot = "read_threads is 0";
            std::unique_ptr<Detail::RSource> source;
            if (fOptions.fReadThreads > 0)
               source = CreateSource(fNodes[d], numbers, whyNot);
            // A dataframe given a range of its tree's entries numbers them differently from the files.
            if (source && source->GetNumEntries() != fPlan.GetNumSourceEntries(d)) {
               source.reset();
               whyNot = "it reads a Range of its entries";
            }
            fReadPaths[d] = source ? source->GetName() : "event loop (" + whyNot + ")";
            if (!source)
               RefuseListedChainLoop(d, whyNot);
            fSources[d] = std::move(source);
         }
      }
   }

   /// ROOT's event loop over a part of a TChain that has a TEntryList stops early (ROOT 6.40): such a chain
   /// can only be read by a source.
   void RefuseListedChainLoop(std::size_t d, const std::string &whyNot) const
   {
      auto *source = dynamic_cast<ROOT::Internal::RDF::RTTreeDS *>(Detail::RDataSourceAccess::Get(fNodes[d]));
      auto *chain = source ? dynamic_cast<TChain *>(source->GetTree()) : nullptr;
      if (chain && chain->GetEntryList())
         throw std::invalid_argument(
            "ROOT::ML::RDataLoader: dataframe " + std::to_string(d % fNumInputs) +
            " is a TChain with a TEntryList, which ROOT's event loop cannot read in parts, and its columns need the "
            "event loop (" + whyNot + "); load only plain branches with read_threads > 0, or select the entries with "
            "a Filter instead of the entry list");
   }

   /// Whether unit `u` is read from baskets: its dataframe has a basket reader and, if filtered, the
   /// plan knows which of its entries pass.
   bool ReadsSource(std::size_t u) const
   {
      const auto &unit = fPlan.GetUnit(u);
      return fSources[unit.fDataFrame] && !unit.fWholeLoop &&
             (!unit.fFiltered || fPlan.GetPassing(u).IsRecorded());
   }

   /// The value of scalar column `column` of an entry.
   static double ScalarAt(std::size_t column, const Columns &...values)
   {
      std::size_t i = 0;
      double value = 0.;
      const int pick[] = {(i++ == column ? (value = Detail::ScalarValue(values), 0) : 0)...};
      static_cast<void>(pick);
      return value;
   }

   EBlock BlockOf(const std::string &column) const
   {
      if (column == fOptions.fWeights)
         return EBlock::kWeights;
      if (std::find(fOptions.fTargets.begin(), fOptions.fTargets.end(), column) != fOptions.fTargets.end())
         return EBlock::kTargets;
      return EBlock::kFeatures;
   }

   std::size_t IndexOf(const std::string &column) const
   {
      return std::find(fColumnNames.begin(), fColumnNames.end(), column) - fColumnNames.begin();
   }

   /// Class weights and resampling need one scalar label.
   void PrepareLabel(const std::array<bool, sizeof...(Columns)> &isVector)
   {
      if (fOptions.fTargets.size() != 1 || isVector[IndexOf(fOptions.fTargets[0])])
         throw std::invalid_argument(
            "ROOT::ML::RDataLoader: class weights and resampling need exactly one scalar target column");
      fLabelColumn = IndexOf(fOptions.fTargets[0]);
   }

   /// Class weights need a weights tensor even without an event-weight column.
   void PrepareClassWeights()
   {
      auto &weights = fLayout[static_cast<int>(EBlock::kWeights)];
      weights.fWidth = 1;
      fClassWeights = Detail::RClassWeights(weights.fDType);
   }

   /// Checks the collections and lays out their tensors; their columns are no flat features.
   void AssignCollections()
   {
      fCollections = Detail::RCollectionWriter(fOptions, fColumnNames, {Detail::RVectorTraits<Columns>::kIsVector...});
      fLayout.fCollections = fCollections.GetLayouts();
   }

   /// Lays out the columns: features in column order, targets in the order given, then the weight.
   void AssignSlots()
   {
      constexpr std::array<bool, sizeof...(Columns)> isVector{Detail::RVectorTraits<Columns>::kIsVector...};
      std::array<bool, 3> typed{false, false, false};
      for (std::size_t i = 0; i < fColumnNames.size(); ++i) {
         auto &slot = fSlots[i];
         slot.fName = fColumnNames[i];
         slot.fBlock = BlockOf(slot.fName);
         slot.fPadding = fOptions.fVecPadding;
         if (fCollections.Reads(i)) {
            slot.fWidth = 0; // written by the collection writer, not into the flat row
            continue;
         }
         if (isVector[i]) {
            auto size = fOptions.fMaxVecSizes.find(slot.fName);
            if (size == fOptions.fMaxVecSizes.end() || size->second == 0)
               throw std::invalid_argument("ROOT::ML::RDataLoader: vector column '" + slot.fName +
                                           "' needs a positive size in fMaxVecSizes");
            slot.fWidth = size->second;
         }
         auto dtype = fOptions.fDTypes.find(slot.fName);
         slot.fDType = dtype == fOptions.fDTypes.end() ? EDType::kFloat32 : dtype->second;
         auto &block = fLayout[static_cast<int>(slot.fBlock)];
         if (typed[static_cast<int>(slot.fBlock)] && block.fDType != slot.fDType)
            throw std::invalid_argument("ROOT::ML::RDataLoader: column '" + slot.fName +
                                        "' asks for a dtype different from the other columns of its tensor; "
                                        "all features (and all targets) share one dtype");
         typed[static_cast<int>(slot.fBlock)] = true;
         block.fDType = slot.fDType;
      }
      auto place = [this](const std::string &name) {
         auto &slot = fSlots[IndexOf(name)];
         auto &block = fLayout[static_cast<int>(slot.fBlock)];
         slot.fOffset = block.fWidth;
         slot.fByteOffset = slot.fOffset * GetDTypeSize(slot.fDType);
         block.fWidth += slot.fWidth;
      };
      for (const auto &name : fColumnNames)
         if (BlockOf(name) == EBlock::kFeatures)
            place(name);
      for (const auto &name : fOptions.fTargets)
         place(name);
      if (!fOptions.fWeights.empty()) {
         place(fOptions.fWeights);
         fWeightColumn = IndexOf(fOptions.fWeights);
      }
      if (fOptions.fClassWeighted || fOptions.fSampling != ESampling::kNone)
         PrepareLabel(isVector);
      if (fOptions.fClassWeighted)
         PrepareClassWeights();
      // A single integer target is a class label: a plain vector, as losses for classes expect.
      auto &targets = fLayout[static_cast<int>(EBlock::kTargets)];
      const bool integral = targets.fDType != EDType::kFloat32 && targets.fDType != EDType::kFloat64;
      targets.fRank = (targets.fWidth == 1 && integral) ? 1 : 2;
   }

   /// A callable taking `const Columns &...` and returning false to stop, by reference and type-erased:
   /// every pass over the data (copying into batches, counting classes, statistics) then shares one typed
   /// event loop, which is what costs the interpreter time when a loader is first created from Python.
   class RVisitor {
      void *fVisit;
      bool (*fCall)(void *, const Columns &...);

   public:
      // Not a copy constructor: an RVisitor lvalue would otherwise be wrapped instead of copied.
      template <typename Visit, typename = std::enable_if_t<!std::is_same_v<Visit, RVisitor>>>
      explicit RVisitor(Visit &visit)
         : fVisit(&visit), fCall([](void *v, const Columns &...values) { return (*static_cast<Visit *>(v))(values...); })
      {
      }
      bool operator()(const Columns &...values) const { return fCall(fVisit, values...); }
   };

   /// The RDataFrame callable of a loop over one unit slice: passes the slice's entries to the visitor,
   /// and skips the others.
   class RSliceAction {
      RVisitor fVisit;
      std::uint64_t fSkip;
      std::uint64_t fEnd;
      bool fAbortOnStop;
      std::uint64_t &fSeen;
      bool &fStopped;
      std::mutex *fMutex; ///< Set when the dataframe runs its loops on several threads.

   public:
      RSliceAction(RVisitor visit, const Detail::RUnitSlice &slice, bool abortOnStop, std::uint64_t &seen,
                   bool &stopped, std::mutex *mutex)
         : fVisit(visit), fSkip(slice.fSkip), fEnd(slice.fSkip + slice.fTake), fAbortOnStop(abortOnStop),
           fSeen(seen), fStopped(stopped), fMutex(mutex)
      {
      }

      void operator()(const Columns &...values) const
      {
         std::unique_lock<std::mutex> lock;
         if (fMutex)
            lock = std::unique_lock<std::mutex>(*fMutex);
         const auto index = fSeen++;
         if (fStopped || index < fSkip || index >= fEnd)
            return;
         if (!fVisit(values...)) {
            fStopped = true;
            // RDataFrame prints a line when a loop is interrupted, so a unit bounded by a cluster
            // is left to run out (doing nothing); only an unbounded loop is cut short.
            if (fAbortOnStop)
               throw RStopRequest{};
         }
      }
   };

   /// Copies each entry into the batch slot the shuffle buffer draws for it (as many times as the
   /// resampler draws, when resampling).
   class RFill {
      const RDataLoader &fLoader;
      Detail::RShuffleBuffer &fBuffer;
      std::uint64_t &fWritten;
      Detail::RCollectionWriter *fCollections; ///< Null when the loader has no collections.
      Detail::RResampler *fResampler;          ///< Null when the split is not resampled.

      static Detail::RRowAddresses RowsOf(const RBatch &batch, std::uint64_t row)
      {
         return {batch.GetRowAddress(EBlock::kFeatures, row), batch.GetRowAddress(EBlock::kTargets, row),
                 batch.GetRowAddress(EBlock::kWeights, row)};
      }

      template <std::size_t... I>
      void Write(const RBatch &batch, std::uint64_t row, std::index_sequence<I...>, const Columns &...values) const
      {
         const auto rows = RowsOf(batch, row);
         // Braced lists rather than fold expressions: folds nest, and compilers cap the nesting.
         const int expand[] = {(Detail::WriteColumn(fLoader.fSlots[I], rows, values), 0)...};
         static_cast<void>(expand);
         if (fLoader.fClassWeights.IsActive()) {
            const double eventWeight =
               fLoader.fWeightColumn == kNoColumn ? 1. : ScalarAt(fLoader.fWeightColumn, values...);
            fLoader.fClassWeights.Write(rows, ScalarAt(fLoader.fLabelColumn, values...), eventWeight);
         }
      }

   public:
      RFill(const RDataLoader &loader, Detail::RShuffleBuffer &buffer, std::uint64_t &written,
            Detail::RCollectionWriter *collections, Detail::RResampler *resampler)
         : fLoader(loader), fBuffer(buffer), fWritten(written), fCollections(collections), fResampler(resampler)
      {
      }
      /// Whether FillColumns() may replace a call per entry: each entry is copied once and written from
      /// its own values alone.
      bool IsColumnar() const { return !fResampler && !fCollections && !fLoader.fClassWeights.IsActive(); }

      /// Copies `n` entries read from baskets column by column, a chunk of entries at a time: per value
      /// that costs a load and a store, where a call per entry passes every column through a visitor.
      /// With `passing`, the entries read are those it selects. Writes what operator() would; returns
      /// false if the consumer has closed the queue.
      template <std::size_t... I>
      bool FillColumns(const Detail::RSource &reader, std::uint64_t n, Detail::RPassingCursor *passing,
                       std::index_sequence<I...>)
      {
         std::array<Detail::RColumnCursor, sizeof...(Columns)> cursors{reader.GetCursor(I)...};
         std::vector<Detail::RRowAddresses> rows(kFillChunk);
         std::vector<std::uint64_t> skips(passing ? kFillChunk : 0);
         for (std::uint64_t done = 0; done < n;) {
            const auto chunk = std::min({kFillChunk, n - done, fBuffer.GetWindowRoom()});
            for (std::uint64_t j = 0; j < chunk; ++j) {
               const auto [batch, row] = fBuffer.NextSlot(j);
               rows[j] = batch ? RowsOf(*batch, row) : Detail::RRowAddresses{};
               fWritten += batch != nullptr;
            }
            for (std::uint64_t j = 0; passing && j < chunk; ++j)
               skips[j] = passing->NextSkip();
            const int expand[] = {(ScatterColumn<Columns>(cursors[I], fLoader.fSlots[I], rows.data(),
                                                          passing ? skips.data() : nullptr, chunk),
                                   0)...};
            static_cast<void>(expand);
            if (!fBuffer.Advance(chunk))
               return false;
            done += chunk;
         }
         return true;
      }

      bool operator()(const Columns &...values)
      {
         const std::uint64_t copies =
            fResampler ? fResampler->Draw(Detail::ClassOf(ScalarAt(fLoader.fLabelColumn, values...))) : 1;
         for (std::uint64_t c = 0; c < copies; ++c) {
            auto [batch, row] = fBuffer.NextSlot();
            if (batch) {
               Write(*batch, row, std::index_sequence_for<Columns...>{}, values...);
               ++fWritten;
            }
            if (fCollections)
               fCollections->Write(batch, row, values...);
            if (!fBuffer.Advance())
               return false;
         }
         return true;
      }
   };

   /// Entries copied column by column at a time: their rows stay in cache while each column is written.
   static constexpr std::uint64_t kFillChunk = 4096;

   /// Writes the next `n` values of a column to `rows` (all null for an entry that is dropped); with `skips`,
   /// the values after skipping skips[j] entries before the j-th.
   template <typename T>
   static void ScatterColumn(Detail::RColumnCursor &cursor, const Detail::RColumnSlot &slot,
                             const Detail::RRowAddresses *rows, const std::uint64_t *skips, std::uint64_t n)
   {
      if constexpr (Detail::RVectorTraits<T>::kIsVector) {
         for (std::uint64_t j = 0; j < n; ++j) {
            if (skips)
               cursor.Skip(skips[j]);
            const auto value = cursor.Next<T>();
            if (rows[j][static_cast<int>(slot.fBlock)])
               Detail::WriteColumn(slot, rows[j], value);
         }
      } else if (skips) {
         // Gathered back to back first, so that the conversion below runs over one contiguous run.
         std::array<T, kFillChunk> gathered;
         for (std::uint64_t j = 0; j < n; ++j) {
            cursor.Skip(skips[j]);
            gathered[j] = cursor.Next<T>();
         }
         Detail::Scatter<T>(reinterpret_cast<const std::byte *>(gathered.data()), n, rows, slot);
      } else {
         Detail::Scatter<T>(cursor.NextRun<T>(n), n, rows, slot);
      }
   }

   /// Counts the entries of each class label.
   class RCountClasses {
      std::size_t fLabelColumn;
      std::map<std::int64_t, std::uint64_t> &fCounts;

   public:
      RCountClasses(std::size_t labelColumn, std::map<std::int64_t, std::uint64_t> &counts)
         : fLabelColumn(labelColumn), fCounts(counts)
      {
      }
      bool operator()(const Columns &...values)
      {
         ++fCounts[Detail::ClassOf(ScalarAt(fLabelColumn, values...))];
         return true;
      }
   };

   /// Adds each entry's features to per-element statistics.
   class RAccumulate {
      const std::array<Detail::RColumnSlot, sizeof...(Columns)> &fSlots;
      std::vector<RRunningStatistics> &fElements;

      template <std::size_t... I>
      void Add(std::index_sequence<I...>, const Columns &...values)
      {
         const int expand[] = {
            (fSlots[I].fBlock == EBlock::kFeatures
                ? (Detail::AccumulateColumn(fSlots[I], fElements.data() + fSlots[I].fOffset, values), 0)
                : 0)...};
         static_cast<void>(expand);
      }

   public:
      RAccumulate(const std::array<Detail::RColumnSlot, sizeof...(Columns)> &slots,
                  std::vector<RRunningStatistics> &elements)
         : fSlots(slots), fElements(elements)
      {
      }
      bool operator()(const Columns &...values)
      {
         Add(std::index_sequence_for<Columns...>{}, values...);
         return true;
      }
   };

   void Produce(ESplit split, std::uint64_t epoch, std::uint64_t skipBatches, RBatchQueue &queue,
                RStatsRecord &record)
   {
      using Clock = std::chrono::steady_clock;
      const auto start = Clock::now();
      const auto bytesAtStart = TFile::GetFileBytesRead();
      const auto seed = Detail::RRandom::Derive(fOptions.fSeed, {static_cast<std::uint64_t>(split), epoch});
      const auto windowEntries = fOptions.fBatchSize * GetWindowBatches(split);
      // Copies are drawn entry by entry from the start of the epoch, so the entries of skipped batches
      // cannot be located without reading them.
      const bool resampled = IsResampled(split);
      Detail::RShuffleBuffer buffer(fLayout, fOptions.fBatchSize, windowEntries, GetNumEntries(split),
                                    fOptions.fDropRemainder, IsShuffled(), seed, skipBatches,
                                    /*readSkipped=*/resampled, queue);
      std::optional<Detail::RResampler> resampler;
      if (resampled)
         resampler.emplace(fResampling, fOptions.fReplacement, Detail::RRandom::Derive(seed, {0x5a3b1e}));
      REpochStats stats;
      auto collections = fCollections;
      auto publish = [&] {
         stats.fTruncatedObjects = collections.GetNumTruncated();
         stats.fBytesRead = TFile::GetFileBytesRead() - bytesAtStart;
         stats.fSecondsLoading = std::chrono::duration<double>(Clock::now() - start).count();
         record.Set(stats);
      };
      const auto shard = fPlan.GetShard(split, IsShuffled(), seed, fOptions.fRank, fOptions.fWorldSize);
      const auto [workerBegin, workerEnd] = GetWorkerEntries(split);
      const auto firstEntry = workerBegin + (resampled ? 0 : buffer.GetNumReceived());
      for (const auto &slice : Detail::RReadingPlan::Cut(shard, firstEntry, workerEnd)) {
         if (queue.IsClosed())
            return;
         collections.BeginSlice(fPlan.GetUnit(slice.fUnit), slice);
         RFill fill(*this, buffer, stats.fEntriesRead, collections.IsEmpty() ? nullptr : &collections,
                    resampler ? &*resampler : nullptr);
         VisitSlice(slice, RVisitor(fill), &fill);
         if (ReadsSource(slice.fUnit))
            stats.fEntriesFromSources += slice.fTake;
         publish();
      }
      if (!queue.IsClosed() && buffer.GetNumReceived() != GetNumEntries(split))
         throw std::runtime_error("ROOT::ML::RDataLoader: the dataframes delivered " +
                                  std::to_string(buffer.GetNumReceived()) + " entries where " +
                                  std::to_string(GetNumEntries(split)) +
                                  " were counted when the loader was created; did the input files change?");
      stats.fBatches = GetNumBatches(split) - skipBatches;
      publish();
   }

   /// Hands `n` entries read last by `reader` to `visit`, one by one: the first ones, or those `passing`
   /// selects. Returns false if the visitor asked to stop.
   template <std::size_t... I>
   static bool VisitSource(const Detail::RSource &reader, std::uint64_t n, Detail::RPassingCursor *passing,
                            RVisitor visit, std::index_sequence<I...>)
   {
      std::array<Detail::RColumnCursor, sizeof...(Columns)> cursors{reader.GetCursor(I)...};
      for (std::uint64_t entry = 0; entry < n; ++entry) {
         if (passing) {
            const auto skip = passing->NextSkip();
            const int expand[] = {(cursors[I].Skip(skip), 0)...};
            static_cast<void>(expand);
         }
         if (!visit(cursors[I].template Next<Columns>()...))
            return false;
      }
      return true;
   }

   /// One event loop over a unit slice (or a read of its baskets), handing its entries to `visit`.
   /// \param columnar the visitor again when it is a batch filler, which then fills from baskets column by column
   void VisitSlice(const Detail::RUnitSlice &slice, RVisitor visit, RFill *columnar = nullptr)
   {
      auto unit = fPlan.GetUnit(slice.fUnit);
      auto window = slice;
      if (!unit.fFiltered) {
         // Every source entry passes (and there is no entry list): read only the slice's own entries.
         unit.fBegin = unit.fLoopBegin = unit.fBegin + slice.fSkip;
         unit.fEnd = unit.fLoopEnd = unit.fBegin + slice.fTake;
         window.fSkip = 0;
      }
      try {
         if (ReadsSource(slice.fUnit)) {
            ReadSource(slice, visit, columnar);
            return;
         }
         RunEventLoop(unit, window, visit);
      } catch (const RStopRequest &) {
      } catch (const std::exception &e) {
         const std::string range = unit.fWholeLoop ? std::string("all entries")
                                                   : "entries [" + std::to_string(unit.fBegin) + ", " +
                                                        std::to_string(unit.fEnd) + ")";
         throw std::runtime_error("ROOT::ML::RDataLoader: reading " + range + " of dataframe " +
                                  std::to_string(unit.fDataFrame % fNumInputs) + " failed: " + e.what());
      }
   }

   /// Reads a slice through its dataframe's source, a few MiB of source entries at a time: the decoded
   /// columns then take little memory whatever the size of the dataset's clusters. Of a filtered unit, only
   /// the source entries from the slice's first passing entry to its last are read.
   void ReadSource(const Detail::RUnitSlice &slice, RVisitor visit, RFill *columnar)
   {
      // Only column types that sources decode have sources: for others this compiles to nothing.
      if constexpr (kSourceReadable) {
         const auto &unit = fPlan.GetUnit(slice.fUnit);
         const auto &mask = fPlan.GetPassing(slice.fUnit);
         auto &reader = *fSources[unit.fDataFrame];
         // Offsets in the unit of the first source entry to read and of the one past the last.
         const auto first = unit.fFiltered ? mask.Select(slice.fSkip) : slice.fSkip;
         const auto last =
            unit.fFiltered ? mask.Select(slice.fSkip + slice.fTake - 1) + 1 : slice.fSkip + slice.fTake;
         for (auto begin = first; begin < last;) {
            const auto end = std::min(last, begin + reader.GetEntriesPerRead());
            const auto entries = unit.fFiltered ? mask.Count(begin, end) : end - begin;
            if (entries == 0) {
               begin = end;
               continue;
            }
            Detail::RPassingCursor passing(mask, begin);
            auto *selection = unit.fFiltered ? &passing : nullptr;
            reader.Read(unit.fBegin + begin, unit.fBegin + end);
            const bool more =
               columnar && columnar->IsColumnar()
                  ? columnar->FillColumns(reader, entries, selection, std::index_sequence_for<Columns...>{})
                  : VisitSource(reader, entries, selection, visit, std::index_sequence_for<Columns...>{});
            if (!more)
               return;
            begin = end;
         }
      }
   }

   /// The event loop of the unit's dataframe over the unit, handing the entries of `window` to `visit`.
   void RunEventLoop(const Detail::RReadingUnit &unit, const Detail::RUnitSlice &window, RVisitor visit)
   {
      auto &node = fNodes[unit.fDataFrame];
      Detail::RRangeGuard range(node, unit);
      std::uint64_t seen = 0;
      bool stopped = false;
      // With implicit multi-threading a unit (one cluster) is one task; the lock only guards against a
      // data source that would split it.
      std::mutex mutex;
      std::mutex *shared = node.GetNSlots() > 1 ? &mutex : nullptr;
      RSliceAction action(visit, window, unit.fWholeLoop, seen, stopped, shared);
      fForeach(node, fColumnNames, Detail::RErasedAction<Columns...>(action));
   }
};

// The members that do the work are defined outside the class, so that they are not inline: where an
// explicit instantiation declaration (`extern template class RDataLoader<...>;`) says that a library
// holds an instantiation, a compiler (or cling) then calls the library's code instead of instantiating
// and compiling its own. rdataloader's Python engine cache relies on it to skip cling's compilation.

template <typename... Columns>
RDataLoader<Columns...>::RDataLoader(std::vector<ROOT::RDF::RNode> dfs, const std::vector<std::string> &columns,
                                     const RDataLoaderOptions &options)
   : fNodes(std::move(dfs)), fNumInputs(fNodes.size()), fColumnNames(columns), fOptions(options)
{
   CheckOptions();
   AssignCollections();
   AssignSlots();
   if (fOptions.fSplitKey.empty()) {
      fPlan = Detail::RReadingPlan(fNodes, fOptions.fValidationSplit, fOptions.fSeed, DrawsSplit());
   } else {
      SplitNodesByKey();
      fPlan = Detail::RReadingPlan(fNodes, fOptions.fValidationSplit, fOptions.fSeed, DrawsSplit(), fNumInputs);
   }
   CreateSources();
   PlanResampling();
   // The loading thread runs event loops while the caller may use ROOT (or cling, from Python).
   ROOT::EnableThreadSafety();
}

template <typename... Columns>
RDataLoader<Columns...>::~RDataLoader()
{
   StopEpoch();
}

template <typename... Columns>
void RDataLoader<Columns...>::StartEpoch(ESplit split, std::uint64_t skipBatches)
{
   if (skipBatches > GetNumBatches(split))
      throw std::invalid_argument("ROOT::ML::RDataLoader: cannot skip " + std::to_string(skipBatches) +
                                  " batches of an epoch of " + std::to_string(GetNumBatches(split)));
   StopEpoch();
   const auto epoch = fEpochs[static_cast<int>(split)]++;
   fQueue = std::make_shared<RBatchQueue>(GetWindowBatches(split));
   fStats = std::make_shared<RStatsRecord>();
   fThread = std::thread([this, split, epoch, skipBatches, queue = fQueue, stats = fStats] {
      try {
         Produce(split, epoch, skipBatches, *queue, *stats);
         queue->Finish();
      } catch (...) {
         queue->Fail(std::current_exception());
      }
   });
}

template <typename... Columns>
std::shared_ptr<RBatch> RDataLoader<Columns...>::NextBatch()
{
   if (!fQueue)
      throw std::logic_error("ROOT::ML::RDataLoader: no epoch is running; call StartEpoch() or iterate Train()");
   return fQueue->Pop();
}

template <typename... Columns>
void RDataLoader<Columns...>::StopEpoch()
{
   if (fQueue)
      fQueue->Close();
   if (fThread.joinable())
      fThread.join();
}

template <typename... Columns>
std::vector<RRunningStatistics> RDataLoader<Columns...>::ComputeFeatureStatistics(ESplit split)
{
   StopEpoch();
   std::vector<RRunningStatistics> elements(fLayout[static_cast<int>(EBlock::kFeatures)].fWidth);
   RAccumulate accumulate(fSlots, elements);
   for (const auto &slice : fPlan.GetSlices(split))
      VisitSlice(slice, RVisitor(accumulate));
   return elements;
}

template <typename... Columns>
void RDataLoader<Columns...>::SetFeatureTransform(const std::vector<double> &shift, const std::vector<double> &scale)
{
   const auto &features = fLayout[static_cast<int>(EBlock::kFeatures)];
   if (shift.size() != features.fWidth || scale.size() != features.fWidth)
      throw std::invalid_argument("ROOT::ML::RDataLoader: a feature transform needs " +
                                  std::to_string(features.fWidth) + " shifts and scales, one per feature element");
   if (features.fDType != EDType::kFloat32 && features.fDType != EDType::kFloat64)
      throw std::invalid_argument("ROOT::ML::RDataLoader: normalised features must have a floating-point dtype");
   StopEpoch();
   for (auto &slot : fSlots) {
      if (slot.fBlock != EBlock::kFeatures)
         continue;
      slot.fShift.assign(shift.begin() + slot.fOffset, shift.begin() + slot.fOffset + slot.fWidth);
      slot.fScale.assign(scale.begin() + slot.fOffset, scale.begin() + slot.fOffset + slot.fWidth);
   }
}

template <typename... Columns>
std::map<std::int64_t, std::uint64_t> RDataLoader<Columns...>::CountClasses(ESplit split)
{
   if (fLabelColumn == kNoColumn)
      throw std::logic_error("ROOT::ML::RDataLoader: counting classes needs fClassWeighted or fSampling");
   StopEpoch();
   std::map<std::int64_t, std::uint64_t> counts;
   RCountClasses count(fLabelColumn, counts);
   for (const auto &slice : fPlan.GetSlices(split))
      VisitSlice(slice, RVisitor(count));
   return counts;
}

template <typename... Columns>
void RDataLoader<Columns...>::SetClassWeights(std::map<std::int64_t, double> weights)
{
   if (fLabelColumn == kNoColumn)
      throw std::logic_error("ROOT::ML::RDataLoader: class weights need fClassWeighted");
   if (weights.empty())
      throw std::invalid_argument("ROOT::ML::RDataLoader: no class weights given");
   StopEpoch();
   fClassWeights.SetWeights(std::move(weights));
}

template <typename... Columns>
void RDataLoader<Columns...>::SetWorker(std::size_t worker, std::size_t numWorkers)
{
   if (numWorkers == 0 || worker >= numWorkers)
      throw std::invalid_argument("ROOT::ML::RDataLoader: worker must be in [0, numWorkers); got worker " +
                                  std::to_string(worker) + " of " + std::to_string(numWorkers));
   // Resampling draws its copies entry by entry from the start of the epoch: parts of it cannot be cut.
   if (numWorkers > 1 && fResampling.IsActive())
      throw std::invalid_argument("ROOT::ML::RDataLoader: resampling (fSampling) cannot be shared among worker "
                                  "processes; read with one process (num_workers=0), or use class weights");
   StopEpoch();
   fWorker = worker;
   fNumWorkers = numWorkers;
}

template <typename... Columns>
void RDataLoader<Columns...>::SetNumEpochs(ESplit split, std::uint64_t epochs)
{
   StopEpoch();
   fEpochs[static_cast<int>(split)] = epochs;
}

template <typename... Columns>
void RDataLoader<Columns...>::SetSeed(std::uint64_t seed)
{
   StopEpoch();
   fOptions.fSeed = seed;
   fPlan.DrawSplit(fOptions.fValidationSplit, seed, DrawsSplit());
   PlanResampling();
}

} // namespace ML
} // namespace ROOT

#endif
