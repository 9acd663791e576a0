/// \file ROOT/ML/RDataLoader.hxx
/// \brief ROOT::ML::RDataLoader: shuffled mini-batches from RDataFrames, loaded on background threads.

#ifndef ROOT_ML_RDataLoader
#define ROOT_ML_RDataLoader

#include "ROOT/ML/Detail/RColumnTable.hxx"
#include "ROOT/ML/Detail/RDataFrameSources.hxx"
#include "ROOT/ML/Detail/REpochProducer.hxx"
#include "ROOT/ML/Detail/RKeySplit.hxx"
#include "ROOT/ML/Detail/RPileShuffle.hxx"
#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"
#include "ROOT/ML/Detail/RResampler.hxx"
#include "ROOT/ML/RBatch.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"
#include "ROOT/ML/REpochRun.hxx"
#include "ROOT/ML/RNormalization.hxx"
#include "ROOT/ML/RReadError.hxx"
#include "ROOT/ML/RRunningStatistics.hxx"
#include "ROOT/ML/RTensorView.hxx"

#include <ROOT/RDataFrame.hxx>
#include <TROOT.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {

/// \brief Streams shuffled batches of RDataFrame entries into tensors, read on background threads.
///
/// \tparam Columns the C++ type of each column, in the order of the column names: arithmetic types,
///         or RVec / std::vector / std::array of them (these need RDataLoaderOptions::fMaxVecSizes).
///
/// Each column value is copied once into the batch it is drawn for, after being decoded straight from the
/// files (TTree baskets, RNTuple pages) or, for what only RDataFrame can compute (Defines), taken from its
/// event loop. Memory held per running epoch: the shuffle window (fBatchSize x fBatchesInMemory entries
/// being filled), at most as many finished batches in the queue, the readers' buffers (a few baskets per
/// column each), and the batches the user still holds.
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
/// An epoch is a function of (fSeed, split, epoch number) alone. To resume an interrupted run, set the
/// epoch counters with SetNumEpochs() and start the interrupted epoch again with
/// StartEpoch(split, batchesAlreadyDelivered): it delivers exactly the batches that were still to come.
template <typename... Columns>
class RDataLoader {
   static_assert(sizeof...(Columns) > 0, "ROOT::ML::RDataLoader needs at least one column type");
   static_assert(Detail::AreSupportedColumnTypes<Columns...>(),
                 "ROOT::ML::RDataLoader: every column must be an arithmetic type or an RVec/std::vector/std::array "
                 "of one; Define a numeric column from strings or objects first");

   /// The reading memory of an epoch's streams, beside its window: readers hold about this much together.
   static constexpr std::uint64_t kStreamBytes = 64 << 20;
   /// Streams an epoch is read as at most (see Detail::RStreamSchedule).
   static constexpr std::uint64_t kMaxStreams = 8;
   /// Mixed into the seed of the draw that scatters a split's entries over its piles (EShuffle::kGlobal).
   static constexpr std::uint64_t kPileDraw = 0x9117E5;

   /// The input dataframes; with a split by key, their training entries followed by their validation entries.
   std::vector<ROOT::RDF::RNode> fNodes;
   /// The same dataframes built again, per replica: their event loops compute Defines and Filters beside fNodes'.
   std::vector<std::vector<ROOT::RDF::RNode>> fReplicas;
   std::size_t fNumInputs; ///< Dataframes given by the user.
   std::vector<std::string> fColumnNames;
   RDataLoaderOptions fOptions;
   Detail::RColumnTable fTable;
   Detail::RReadingPlan fPlan;
   std::unique_ptr<Detail::RDataFrameSources<Columns...>> fSources; ///< How each dataframe is read.
   /// Per split, active with RDataLoaderOptions::fSampling (by target, for the training split only).
   std::array<Detail::RResamplingPlan, 2> fResampling;
   std::array<std::uint64_t, 2> fEpochs{0, 0};
   std::size_t fWorker = 0; ///< This process's part of the rank's shard (SetWorker()).
   std::size_t fNumWorkers = 1;
   std::mutex fRunsMutex;
   std::vector<std::weak_ptr<REpochRun>> fRuns; ///< Epochs started, some perhaps still running.
   std::shared_ptr<const REpochRun::RStatsRecord> fLastStats; ///< Of the epoch started last.
   RNormalization fNormalization; ///< Applied to the features; empty without one.
   Detail::RPileShuffle fPiles;   ///< With EShuffle::kGlobal, per split.

public:
   /// An iterable over one epoch of one split: each begin() starts a new epoch.
   class REpoch {
      RDataLoader *fLoader;
      ESplit fSplit;

   public:
      class RIterator {
         std::shared_ptr<REpochRun> fRun;
         std::shared_ptr<RBatch> fBatch;

      public:
         using iterator_category = std::input_iterator_tag;
         using value_type = RBatch;
         using difference_type = std::ptrdiff_t;
         using pointer = const RBatch *;
         using reference = const RBatch &;

         RIterator() = default;
         explicit RIterator(std::shared_ptr<REpochRun> run) : fRun(std::move(run)), fBatch(fRun->Next()) {}
         const RBatch &operator*() const { return *fBatch; }
         const RBatch *operator->() const { return fBatch.get(); }
         RIterator &operator++()
         {
            fBatch = fRun->Next();
            return *this;
         }
         bool operator==(const RIterator &other) const { return fBatch == other.fBatch; }
         bool operator!=(const RIterator &other) const { return !(*this == other); }
      };

      REpoch(RDataLoader &loader, ESplit split) : fLoader(&loader), fSplit(split) {}
      RIterator begin() { return RIterator(fLoader->StartEpoch(fSplit)); }
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
               const RDataLoaderOptions &options = {})
      : RDataLoader(std::vector<std::vector<ROOT::RDF::RNode>>{std::move(dfs)}, columns, options)
   {
   }

   /// The dataframes `build` returns, built once per reading thread (RDataLoaderOptions::fReadThreads, at least
   /// once). A dataframe runs one event loop at a time, so the Defines and Filters of dataframes built once are
   /// computed on one thread; built again, each build computes them for its own part of every read. Each call of
   /// `build` must return new dataframes of the same files, with the same Defines and Filters.
   RDataLoader(const std::function<std::vector<ROOT::RDF::RNode>()> &build, const std::vector<std::string> &columns,
               const RDataLoaderOptions &options = {})
      : RDataLoader(BuildEach(build, options.fReadThreads), columns, options)
   {
   }

   /// As with a `build` function, the dataframes built several times by the caller (a language binding):
   /// builds[0] are read, and every build computes Defines and Filters for its own part of each read.
   RDataLoader(std::vector<std::vector<ROOT::RDF::RNode>> builds, const std::vector<std::string> &columns,
               const RDataLoaderOptions &options = {});

   /// `options` checked as the constructor checks them for `columns` of `numDataFrames` dataframes, the messages
   /// spelled as `spelling` says: a language binding checks its keywords before it builds the loader (compiled
   /// with the engine, so that cling does not compile the checks again).
   /// \throws ROptionError naming the option and the way out
   static RDataLoaderOptions CheckOptions(const RDataLoaderOptions &options, const std::vector<std::string> &columns,
                                          std::size_t numDataFrames, const ROptionSpelling &spelling = {})
   {
      return options.Checked(columns, sizeof...(Columns), numDataFrames, spelling);
   }

   ~RDataLoader() { StopEpochs(); }
   RDataLoader(const RDataLoader &) = delete;
   RDataLoader &operator=(const RDataLoader &) = delete;

   /// The training split (the whole dataset when there is no validation split).
   REpoch Train() { return REpoch(*this, ESplit::kTrain); }
   /// The validation split.
   REpoch Validation() { return REpoch(*this, ESplit::kValidation); }

   /// Starts the next epoch of `split` on a loading thread of its own; epochs of either split may run at the
   /// same time. The loader must outlive the run, whose batches outlive both.
   /// \param skipBatches batches of the epoch not to deliver, at most GetNumBatches(split): the epoch
   ///        then delivers the rest, bit for bit as an epoch started without skipping would. The
   ///        shuffle windows that hold only skipped batches are not read.
   std::shared_ptr<REpochRun> StartEpoch(ESplit split, std::uint64_t skipBatches = 0);

   /// Stops every running epoch (within one read) and frees the batches their threads still hold.
   void StopEpochs();

   /// With EShuffle::kGlobal: whether the piles of `split` were written whole but have been deleted or changed
   /// since (by a cleaner of the temporary directory): the next epoch writes them again.
   bool HasDamagedPiles(ESplit split) const { return fPiles.IsDamaged(split); }
   /// Stops every running epoch and removes the piles of EShuffle::kGlobal from disk: the next epoch of each
   /// split writes them again.
   void ClearPiles()
   {
      StopEpochs();
      fPiles.Clear();
   }

   /// Statistics of the epoch started last (updated as it reads).
   REpochStats GetEpochStats() const { return fLastStats ? fLastStats->Get() : REpochStats{}; }

   /// Entries this process reads in an epoch of `split`: its shard, which is the whole split when
   /// fWorldSize is 1 (the last (entries of the split) % fWorldSize entries of each epoch's order, which would
   /// make the shards unequal, are read by no process), or its worker's part of it (SetWorker()).
   /// With fSampling, a resampled split delivers its resampled number of entries instead.
   std::uint64_t GetNumEntries(ESplit split) const
   {
      if (IsResampled(split))
         return fResampling[static_cast<int>(split)].GetNumDelivered();
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
   /// Batches in the shuffle window of `split` (and in the queue of finished batches).
   std::uint64_t GetWindowBatches(ESplit split) const
   {
      return fOptions.fLoadEager ? std::max<std::uint64_t>(1, (GetNumEntries(split) + fOptions.fBatchSize - 1) /
                                                                  fOptions.fBatchSize)
                                 : fOptions.fBatchesInMemory;
   }

   /// Count, mean, spread and range of every feature element over the entries of `split`, in one pass
   /// over the data (padding of vector columns is not counted). Runs on the calling thread.
   std::vector<RRunningStatistics> ComputeFeatureStatistics(ESplit split = ESplit::kTrain);
   /// Normalises the features from the next epoch on: element i becomes (value - shift[i]) * scale[i].
   /// Both vectors have one entry per feature element (see ComputeFeatureStatistics()). The lower-level
   /// form of SetNormalization(), for a transform fitted elsewhere; GetNormalization() is then empty.
   void SetFeatureTransform(const std::vector<double> &shift, const std::vector<double> &scale);
   /// The normalisation of fNormalize / fNormalizeColumns, fitted when the loader was built, or the one
   /// set last; empty when the features are not normalised.
   const RNormalization &GetNormalization() const { return fNormalization; }
   /// Normalises the features from the next epoch on with a normalisation fitted before (saved and loaded,
   /// or another loader's): for the same feature elements (see RNormalization::fColumns).
   void SetNormalization(const RNormalization &normalization);
   /// The names of the feature elements, as RNormalization::fColumns has them: a column, `name_i` for
   /// element i of a vector column.
   std::vector<std::string> GetFeatureElementNames() const { return fTable.GetFeatureElementNames(); }
   /// How many entries of `split` carry each class label (the single target, whole numbers).
   std::map<std::int64_t, std::uint64_t> CountClasses(ESplit split = ESplit::kTrain);
   /// Per class label, how many entries of `split` fall in each bin of `bins`.
   std::map<std::int64_t, std::vector<std::uint64_t>> CountClassBins(ESplit split, const Detail::RReweightBins &bins);
   /// The reweighting (fReweight) of each class, per bin of the grid of its columns' edges (the last column's
   /// bins vary fastest); empty without.
   const std::map<std::int64_t, std::vector<double>> &GetReweighting() const
   {
      return fTable.GetClassWeights().GetBinWeights();
   }
   /// From the next epoch on, the weights tensor holds weights[class of label] x the event weight.
   void SetClassWeights(std::map<std::int64_t, double> weights);
   /// The weight of each class (fBalanceClasses, fClassWeights or SetClassWeights()); empty without.
   const std::map<std::int64_t, double> &GetClassWeights() const { return fTable.GetClassWeights().GetWeights(); }

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
   /// With fSampling: for each class label (by dataframe: each dataframe) of `split`, its entries and the
   /// entries an epoch delivers (copies included); empty for a split that is not resampled.
   const std::map<std::int64_t, std::pair<std::uint64_t, std::uint64_t>> &
   GetResampledClasses(ESplit split = ESplit::kTrain) const
   {
      return fResampling[static_cast<int>(split)].GetClasses();
   }
   /// A fingerprint of the dataset as the loader reads it (reading units and their entries after the
   /// filters): a run can only be resumed over a dataset with the same fingerprint.
   std::uint64_t GetDatasetDigest() const { return fPlan.GetDigest(); }
   /// How column `c` of dataframe `d` is read: by a source ("TTree baskets"), or by its event loop, and why.
   const std::string &GetReadPath(std::size_t d, std::size_t c) const { return fSources->GetReadPath(d, c); }
   /// Parts of an epoch of `split` read side by side (see Detail::RStreamSchedule): more mix the dataset
   /// better into a small shuffle window, each costs a reader's buffers.
   std::uint64_t GetNumStreams(ESplit split) const;
   const RBatchLayout &GetLayout() const { return fTable.GetLayout(); }
   const RDataLoaderOptions &GetOptions() const { return fOptions; }
   const std::vector<std::string> &GetColumnNames() const { return fColumnNames; }

private:
   /// Replaces each input by its training entries and appends its validation entries.
   static std::vector<std::vector<ROOT::RDF::RNode>>
   BuildEach(const std::function<std::vector<ROOT::RDF::RNode>()> &build, std::size_t threads)
   {
      std::vector<std::vector<ROOT::RDF::RNode>> builds;
      for (std::size_t t = 0; t < std::max<std::size_t>(threads, 1); ++t)
         builds.push_back(build());
      return builds;
   }
   std::vector<ROOT::RDF::RNode> SplitByKey(std::vector<ROOT::RDF::RNode> &nodes) const;

   /// Plans the resampled epochs: by dataframe, of both splits from their entries per dataframe; by target,
   /// of the training split from its class counts (one pass over the label).
   void PlanResampling();

   /// The passes of the options that learn from the training split: class weights, normalisation.
   void FitWeightsAndNormalization();

   bool IsResampled(ESplit split) const { return fResampling[static_cast<int>(split)].IsActive(); }
   /// Whether epochs are read in a shuffled order (the global shuffle reads in order and shuffles after).
   bool IsShuffled() const { return fOptions.fShuffle == EShuffle::kWindow; }
   /// Whether the validation entries are drawn from all over each dataframe rather than taken from its end.
   bool DrawsSplit() const { return fOptions.fShuffle != EShuffle::kNone; }

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

   /// The epoch of `split` drawn from `seed`, as REpochProducer reads it.
   Detail::REpochPlan PlanEpoch(ESplit split, std::uint64_t seed, std::uint64_t skipBatches) const;
   /// The body of an epoch's thread with EShuffle::kGlobal.
   auto MakePileEpoch(ESplit split, std::uint64_t seed, std::uint64_t skipBatches);

   Detail::RDatasetView GetDatasetView() const
   {
      return {fNumInputs, fOptions, fPlan, fTable, fSources->GetSources(), fSources->GetEventLoopSource(), fResampling};
   }

   /// Bytes of one entry in a batch (at least 8).
   std::uint64_t GetRowBytes() const
   {
      return std::max<std::uint64_t>(GetLayout().GetBlockBytes(), 8);
   }

   /// Whether a stream can start reading anywhere in unit `u`: its source can, or its event loop can be
   /// narrowed to the entries asked.
   bool IsSeekable(std::size_t u) const { return GetDatasetView().ReadsFile(u) || fPlan.IsLoopSeekable(u); }

   /// Reads the entries of `split` in order on the calling thread, calling visit(values...) for each, and
   /// reports them to fOptions.fProgress as `task`.
   template <typename Visit>
   void VisitSplit(ESplit split, EProgressTask task, Visit &&visit);

   static constexpr auto kColumns = std::index_sequence_for<Columns...>{};

   /// Adds the feature elements of one entry to their statistics (padding is not counted).
   template <std::size_t... I>
   void Accumulate(std::vector<RRunningStatistics> &elements, std::index_sequence<I...>, const Columns &...values) const;

   std::shared_ptr<REpochRun> Register(std::shared_ptr<REpochRun> run)
   {
      std::lock_guard<std::mutex> lock(fRunsMutex);
      fRuns.erase(std::remove_if(fRuns.begin(), fRuns.end(), [](const auto &r) { return r.expired(); }), fRuns.end());
      fRuns.push_back(run);
      fLastStats = run->GetStatsRecord();
      return run;
   }
};

// The members that do the work are defined outside the class, so that they are not inline: where an
// explicit instantiation declaration (`extern template class RDataLoader<...>;`) says that a library
// holds an instantiation, a compiler (or cling) then calls the library's code instead of instantiating
// and compiling its own. rdataloader's Python engine cache relies on it to skip cling's compilation.

template <typename... Columns>
RDataLoader<Columns...>::RDataLoader(std::vector<std::vector<ROOT::RDF::RNode>> builds,
                                     const std::vector<std::string> &columns, const RDataLoaderOptions &options)
   : fNodes(Detail::TakeFirstBuild(builds)),
     fReplicas(std::move(builds)),
     fNumInputs(fNodes.size()),
     fColumnNames(columns),
     fOptions(options.Checked(columns, sizeof...(Columns), fNodes.size())),
     fTable(fOptions, columns, {Detail::RVectorTraits<Columns>::kIsVector...}),
     fPiles(fOptions.fCacheDirectory)
{
   if (fOptions.fBatchesInMemory == 0) {
      const auto batchBytes = fOptions.fBatchSize * std::max<std::size_t>(GetLayout().GetMaxRowBytes(), 1);
      fOptions.fBatchesInMemory = std::max<std::size_t>(1, kDefaultWindowBytes / batchBytes);
   }
   // The passes report whether anyone watches or not: to the caller's RProgress, or to one of the loader's own.
   if (!fOptions.fProgress)
      fOptions.fProgress = std::make_shared<RProgress>();
   Detail::CheckReplicas(fNodes, fReplicas);
   if (!fOptions.fSplitKey.empty()) {
      fNodes = SplitByKey(fNodes);
      for (auto &replica : fReplicas)
         replica = SplitByKey(replica);
   }
   fPlan = fOptions.fSplitKey.empty()
              ? Detail::RReadingPlan(fNodes, fOptions.fValidationSplit, fOptions.fSeed, DrawsSplit(),
                                     *fOptions.fProgress)
              : Detail::RReadingPlan(fNodes, fOptions.fValidationSplit, fOptions.fSeed, DrawsSplit(),
                                     *fOptions.fProgress, fNumInputs);
   fSources = std::make_unique<Detail::RDataFrameSources<Columns...>>(fNodes, fReplicas, fNumInputs, fColumnNames,
                                                                      fOptions, fPlan, GetRowBytes());
   PlanResampling();
   FitWeightsAndNormalization();
   // The loading threads run event loops while the caller may use ROOT (or cling, from Python).
   ROOT::EnableThreadSafety();
}

template <typename... Columns>
std::vector<ROOT::RDF::RNode> RDataLoader<Columns...>::SplitByKey(std::vector<ROOT::RDF::RNode> &nodes) const
{
   const Detail::RKeySplit rule(fOptions);
   std::vector<ROOT::RDF::RNode> split;
   for (auto part : {ESplit::kTrain, ESplit::kValidation})
      for (auto &node : nodes)
         split.push_back(rule.Select(node, part));
   return split;
}

template <typename... Columns>
void RDataLoader<Columns...>::PlanResampling()
{
   fResampling = {};
   if (fOptions.fSampling == ESampling::kNone)
      return;
   if (fOptions.fResampleBy == ESampleBy::kTarget) {
      fResampling[0] =
         Detail::RResamplingPlan(CountClasses(ESplit::kTrain), fOptions.fSampling, fOptions.fSamplingRatio);
      return;
   }
   for (auto split : {ESplit::kTrain, ESplit::kValidation}) {
      std::array<std::uint64_t, 2> entries{0, 0};
      for (const auto &slice : fPlan.GetSlices(split))
         entries[fPlan.GetUnit(slice.fUnit).fDataFrame % fNumInputs] += slice.fTake;
      const auto name = split == ESplit::kTrain ? "training" : "validation";
      fResampling[static_cast<int>(split)] = Detail::RResamplingPlan::ByDataFrame(
         entries, fOptions.fSampling, fOptions.fSamplingRatio, fOptions.fReplacement, name);
   }
}

template <typename... Columns>
void RDataLoader<Columns...>::FitWeightsAndNormalization()
{
   if (fOptions.IsClassWeighted()) {
      const auto validation =
         fOptions.fBalanceClasses ? std::map<std::int64_t, std::uint64_t>{} : CountClasses(ESplit::kValidation);
      // One pass counts the classes, and their bins when reweighting (otherwise a single bin).
      const Detail::RReweightBins bins = fOptions.fReweight.IsActive()
                                            ? Detail::RReweightBins(fTable.GetReweightColumns(), fOptions.fReweight.fEdges)
                                            : Detail::RReweightBins();
      const auto binCounts = CountClassBins(ESplit::kTrain, bins);
      std::map<std::int64_t, std::uint64_t> train;
      for (const auto &[label, perBin] : binCounts)
         train[label] = std::accumulate(perBin.begin(), perBin.end(), std::uint64_t{0});
      SetClassWeights(Detail::ChooseClassWeights(fOptions, train, validation));
      if (fOptions.fReweight.IsActive())
         fTable.SetReweighting(bins, Detail::ReweightToReference(fOptions.fReweight, binCounts, bins.GetNumBins()));
   }
   std::vector<ENormalization> methods;
   for (std::size_t c = 0; c < fColumnNames.size(); ++c) {
      const auto &slot = fTable.GetSlot(c);
      const auto named = fOptions.fNormalizeColumns.find(fColumnNames[c]);
      const auto method = named != fOptions.fNormalizeColumns.end() ? named->second : fOptions.fNormalize;
      if (slot.fBlock == EBlock::kFeatures)
         methods.insert(methods.end(), slot.fWidth, method);
   }
   if (std::any_of(methods.begin(), methods.end(), [](ENormalization m) { return m != ENormalization::kNone; }))
      SetNormalization(RNormalization::Fit(GetFeatureElementNames(), methods, ComputeFeatureStatistics()));
}

template <typename... Columns>
template <typename Visit>
void RDataLoader<Columns...>::VisitSplit(ESplit split, EProgressTask task, Visit &&visit)
{
   StopEpochs();
   const auto view = GetDatasetView();
   auto &progress = *fOptions.fProgress;
   progress.Begin(task, fPlan.GetNumEntries(split));
   for (const auto &slice : fPlan.GetSlices(split)) {
      const auto &unit = fPlan.GetUnit(slice.fUnit);
      auto reader = (view.ReadsFile(slice.fUnit) ? *view.fSources[unit.fDataFrame] : view.fEventLoop).MakeReader();
      reader->SetThreads(fOptions.fReadThreads);
      for (std::uint64_t done = 0; done < slice.fTake;) {
         const auto read = reader->Read(unit, fPlan.GetPassing(slice.fUnit), slice.fSkip + done,
                                        slice.fTake - done);
         std::array<Detail::RColumnCursor, sizeof...(Columns)> cursors;
         for (std::size_t c = 0; c < cursors.size(); ++c)
            cursors[c] = reader->GetCursor(c);
         for (std::uint64_t j = 0; j < read; ++j)
            Detail::RBatchWriter<Columns...>::VisitNext(cursors, visit);
         done += read;
         progress.Advance(read);
      }
   }
   progress.End();
}

template <typename... Columns>
template <std::size_t... I>
void RDataLoader<Columns...>::Accumulate(std::vector<RRunningStatistics> &elements, std::index_sequence<I...>,
                                         const Columns &...values) const
{
   const int expand[] = {(fTable.GetSlot(I).fBlock == EBlock::kFeatures
                             ? (Detail::AccumulateColumn(fTable.GetSlot(I), elements.data() + fTable.GetSlot(I).fOffset,
                                                         values),
                                0)
                             : 0)...};
   static_cast<void>(expand);
}

template <typename... Columns>
std::uint64_t RDataLoader<Columns...>::GetNumStreams(ESplit split) const
{
   const auto &slices = fPlan.GetSlices(split);
   // An event loop is one reader per dataframe: streams would make it jump between distant entries, every
   // jump refilling its tree cache with a whole cluster (4x slower epochs, measured on NanoAOD with Defines).
   if (!IsShuffled() || IsResampled(split) || fSources->NeedsEventLoop())
      return 1;
   for (const auto &slice : slices)
      if (!IsSeekable(slice.fUnit))
         return 1;
   // Two streams whatever their cost, so that a dataset sorted in two halves (signal, then background) mixes,
   // even in one cluster: sources decode baskets or pages, so streams that share a unit decode twice only the
   // basket or page on their border.
   const auto readerBytes = fSources->GetStreamReaderBytes();
   const auto windowEntries = GetWindowBatches(split) * fOptions.fBatchSize;
   const auto windowBytes = windowEntries * fSources->GetEventLoopSource().GetEntryBytes();
   const auto affordable = std::clamp<std::uint64_t>(std::max(kStreamBytes, windowBytes) / readerBytes, 2, kMaxStreams);
   // A window that holds the whole split mixes it already; an empty split is one empty stream.
   const auto windows = (GetNumEntries(split) + windowEntries - 1) / windowEntries;
   return std::clamp<std::uint64_t>(windows, 1, affordable);
}

template <typename... Columns>
Detail::REpochPlan RDataLoader<Columns...>::PlanEpoch(ESplit split, std::uint64_t seed, std::uint64_t skipBatches) const
{
   Detail::REpochPlan plan;
   plan.fSplit = split;
   plan.fSeed = seed;
   plan.fSkipBatches = skipBatches;
   plan.fEntries = GetNumEntries(split);
   plan.fBatches = GetNumBatches(split) - skipBatches;
   plan.fDropRemainder = fOptions.fDropRemainder;
   plan.fWindowEntries = fOptions.fBatchSize * GetWindowBatches(split);
   plan.fShuffled = IsShuffled();
   // Unshuffled resampling by dataframe delivers ROOT's loader's order, which needs no draws.
   plan.fArranged = IsResampled(split) && !plan.fShuffled && fOptions.fResampleBy == ESampleBy::kDataFrame;
   plan.fResampled = IsResampled(split) && !plan.fArranged;
   std::tie(plan.fFirst, plan.fLast) =
      plan.fResampled  ? std::pair<std::uint64_t, std::uint64_t>{0, fPlan.GetShardEntries(split, fOptions.fWorldSize)}
      : plan.fArranged ? std::pair<std::uint64_t, std::uint64_t>{0, plan.fEntries}
                       : GetWorkerEntries(split);
   plan.fStreams = GetNumStreams(split);
   // Packed collections learn where a row starts from the row before: one thread writes each batch in order.
   const bool packed = std::any_of(fOptions.fCollections.begin(), fOptions.fCollections.end(),
                                   [](const RCollectionOptions &c) { return c.fLayout == ECollectionLayout::kPacked; });
   plan.fThreads = packed ? 1 : std::max<std::size_t>(fOptions.fReadThreads, 1);
   return plan;
}

template <typename... Columns>
auto RDataLoader<Columns...>::MakePileEpoch(ESplit split, std::uint64_t seed, std::uint64_t skipBatches)
{
   // The piles take every entry of the split, in file order: the batches are cut from them afterwards.
   auto plan = PlanEpoch(split, seed, 0);
   plan.fDropRemainder = false;
   plan.fBatches = (plan.fEntries + fOptions.fBatchSize - 1) / fOptions.fBatchSize;
   auto readInOrder = [this, plan] {
      auto reading = std::make_shared<REpochRun>(plan.fSplit, GetWindowBatches(plan.fSplit));
      reading->Start(Detail::REpochProducer<Columns...>(GetDatasetView(), plan));
      return reading;
   };
   const auto pileEntries = fOptions.fBatchSize * GetWindowBatches(split);
   const auto numPiles = std::max<std::uint64_t>(1, (plan.fEntries + pileEntries - 1) / pileEntries);
   auto cache = fPiles.GetCache(split, GetLayout(), numPiles,
                                Detail::RRandom::Derive(fOptions.fSeed, {static_cast<std::uint64_t>(split), kPileDraw}));
   return Detail::RPileEpoch<decltype(readInOrder)>(std::move(cache), std::move(readInOrder), plan.fEntries, seed,
                                                    fOptions.fBatchSize, fOptions.fDropRemainder, skipBatches);
}

template <typename... Columns>
std::shared_ptr<REpochRun> RDataLoader<Columns...>::StartEpoch(ESplit split, std::uint64_t skipBatches)
{
   if (skipBatches > GetNumBatches(split))
      throw std::invalid_argument("ROOT::ML::RDataLoader: cannot skip " + std::to_string(skipBatches) +
                                  " batches of an epoch of " + std::to_string(GetNumBatches(split)));
   auto &epochs = fEpochs[static_cast<int>(split)];
   const auto seed = Detail::RRandom::Derive(fOptions.fSeed, {static_cast<std::uint64_t>(split), epochs});
   auto run = std::make_shared<REpochRun>(split, GetWindowBatches(split));
   // The epoch counts once started: a pile directory that cannot be made leaves the count as it was.
   if (fOptions.fShuffle == EShuffle::kGlobal)
      run->Start(MakePileEpoch(split, seed, skipBatches));
   else
      run->Start(Detail::REpochProducer<Columns...>(GetDatasetView(), PlanEpoch(split, seed, skipBatches)));
   ++epochs;
   return Register(std::move(run));
}

template <typename... Columns>
void RDataLoader<Columns...>::StopEpochs()
{
   std::vector<std::shared_ptr<REpochRun>> running;
   {
      std::lock_guard<std::mutex> lock(fRunsMutex);
      for (auto &weak : fRuns)
         if (auto run = weak.lock())
            running.push_back(std::move(run));
      fRuns.clear();
   }
   for (auto &run : running)
      run->Stop();
}

template <typename... Columns>
std::vector<RRunningStatistics> RDataLoader<Columns...>::ComputeFeatureStatistics(ESplit split)
{
   std::vector<RRunningStatistics> elements(GetLayout()[static_cast<int>(EBlock::kFeatures)].fWidth);
   VisitSplit(split, EProgressTask::kFittingNormalization,
              [&](const Columns &...values) { Accumulate(elements, kColumns, values...); });
   return elements;
}

template <typename... Columns>
void RDataLoader<Columns...>::SetFeatureTransform(const std::vector<double> &shift, const std::vector<double> &scale)
{
   StopEpochs();
   fPiles.Clear();
   fTable.SetFeatureTransform(shift, scale);
   fNormalization = {};
}

template <typename... Columns>
void RDataLoader<Columns...>::SetNormalization(const RNormalization &normalization)
{
   const auto names = GetFeatureElementNames();
   if (normalization.fColumns != names) {
      std::string features;
      for (const auto &name : names)
         features += (features.empty() ? "" : ", ") + name;
      throw std::invalid_argument("ROOT::ML::RDataLoader: the normalisation is for other features than this "
                                  "loader's (" + features + ")");
   }
   SetFeatureTransform(normalization.fShift, normalization.fScale);
   fNormalization = normalization;
}

template <typename... Columns>
std::map<std::int64_t, std::vector<std::uint64_t>>
RDataLoader<Columns...>::CountClassBins(ESplit split, const Detail::RReweightBins &bins)
{
   const auto label = fTable.GetLabelColumn();
   if (label == Detail::RColumnTable::kNoColumn)
      throw std::logic_error("ROOT::ML::RDataLoader: counting classes needs class weights or fSampling");
   using RWriter = Detail::RBatchWriter<Columns...>;
   std::map<std::int64_t, std::vector<std::uint64_t>> counts;
   VisitSplit(split, EProgressTask::kCountingClasses, [&](const Columns &...values) {
      auto &perBin = counts[Detail::ClassOf(RWriter::ScalarAt(label, values...))];
      perBin.resize(bins.GetNumBins());
      ++perBin[bins.BinOf([&](std::size_t c) { return RWriter::ScalarAt(c, values...); })];
   });
   return counts;
}

template <typename... Columns>
std::map<std::int64_t, std::uint64_t> RDataLoader<Columns...>::CountClasses(ESplit split)
{
   std::map<std::int64_t, std::uint64_t> counts;
   for (const auto &[label, perBin] : CountClassBins(split, Detail::RReweightBins()))
      counts[label] = perBin[0];
   return counts;
}

template <typename... Columns>
void RDataLoader<Columns...>::SetClassWeights(std::map<std::int64_t, double> weights)
{
   StopEpochs();
   fPiles.Clear();
   fTable.SetClassWeights(std::move(weights));
}

template <typename... Columns>
void RDataLoader<Columns...>::SetWorker(std::size_t worker, std::size_t numWorkers)
{
   if (numWorkers == 0 || worker >= numWorkers)
      throw std::invalid_argument("ROOT::ML::RDataLoader: worker must be in [0, numWorkers); got worker " +
                                  std::to_string(worker) + " of " + std::to_string(numWorkers));
   // Resampling draws its copies entry by entry from the start of the epoch: parts of it cannot be cut.
   if (numWorkers > 1 && (IsResampled(ESplit::kTrain) || IsResampled(ESplit::kValidation)))
      throw std::invalid_argument("ROOT::ML::RDataLoader: resampling (fSampling) cannot be shared among worker "
                                  "processes; read with one process (num_workers=0), or use class weights");
   if (numWorkers > 1 && fOptions.fShuffle == EShuffle::kGlobal)
      throw std::invalid_argument("ROOT::ML::RDataLoader: the exact shuffle (EShuffle::kGlobal) reads its piles in "
                                  "one process; read with one process (num_workers=0), on fReadThreads threads");
   StopEpochs();
   fWorker = worker;
   fNumWorkers = numWorkers;
}

template <typename... Columns>
void RDataLoader<Columns...>::SetNumEpochs(ESplit split, std::uint64_t epochs)
{
   StopEpochs();
   fEpochs[static_cast<int>(split)] = epochs;
}

template <typename... Columns>
void RDataLoader<Columns...>::SetSeed(std::uint64_t seed)
{
   StopEpochs();
   fPiles.Clear();
   fOptions.fSeed = seed;
   fPlan.DrawSplit(fOptions.fValidationSplit, seed, DrawsSplit());
   PlanResampling();
}

} // namespace ML
} // namespace ROOT

#endif
