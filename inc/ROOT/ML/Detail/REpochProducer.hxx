/// \file ROOT/ML/Detail/REpochProducer.hxx
/// \brief The body of an epoch's loading thread: its entries read stream by stream into shuffled batches.

#ifndef ROOT_ML_Detail_REpochProducer
#define ROOT_ML_Detail_REpochProducer

#include "ROOT/ML/Detail/RBatchWriter.hxx"
#include "ROOT/ML/Detail/RClassWeights.hxx"
#include "ROOT/ML/Detail/RColumnTable.hxx"
#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"
#include "ROOT/ML/Detail/RResampler.hxx"
#include "ROOT/ML/Detail/RShuffleBuffer.hxx"
#include "ROOT/ML/Detail/RSource.hxx"
#include "ROOT/ML/Detail/RStreams.hxx"
#include "ROOT/ML/Detail/RThreadTeam.hxx"
#include "ROOT/ML/RBatchQueue.hxx"
#include "ROOT/ML/REpochRun.hxx"
#include "ROOT/ML/RReadError.hxx"

#include <TFile.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// What every epoch of a loader reads: owned by the loader, unchanged while its epochs run.
struct RDatasetView {
   std::size_t fNumInputs; ///< Dataframes the user gave (a split by key doubles them), for messages.
   const RDataLoaderOptions &fOptions;
   const RReadingPlan &fPlan;
   const RColumnTable &fTable;
   const std::vector<std::unique_ptr<RSource>> &fSources; ///< Per dataframe: its file source, or null.
   const RSource &fEventLoop;                             ///< For the units no file source reads.
   const std::array<RResamplingPlan, 2> &fResampling; ///< Per split.

   /// Whether unit `u` is read by its dataframe's file source: it has one, which can read the unit.
   bool ReadsFile(std::size_t u) const
   {
      const auto &source = fSources[fPlan.GetUnit(u).fDataFrame];
      return source && source->CanRead(fPlan.GetUnit(u), fPlan.GetPassing(u));
   }
};

/// What one epoch reads, and how.
struct REpochPlan {
   ESplit fSplit = ESplit::kTrain;
   std::uint64_t fSeed = 0;        ///< Of this epoch: derived from the loader's seed, the split and the epoch.
   std::uint64_t fSkipBatches = 0; ///< Batches not to deliver (a resumed epoch).
   std::uint64_t fEntries = 0;     ///< Entries delivered, copies of resampled entries included.
   std::uint64_t fBatches = 0;     ///< Batches delivered, skipped ones excluded.
   bool fDropRemainder = true;     ///< Whether the last, incomplete batch is dropped.
   std::uint64_t fWindowEntries = 0;
   std::uint64_t fFirst = 0; ///< This process's entries of the epoch's order: [fFirst, fLast).
   std::uint64_t fLast = 0;
   bool fShuffled = true;
   bool fResampled = false; ///< Each entry read is delivered as many times as RResampler draws.
   /// The split's entries are read in RResamplingPlan::Arrange()'s order, each delivered once.
   bool fArranged = false;
   std::size_t fStreams = 1;
   std::size_t fThreads = 1; ///< Reading threads: fStreams share them, each stream on one.
};

/// \brief Reads one epoch into batches on the loading thread and its helpers.
///
/// The epoch's entries (its order of reading units, cut to this process's share) are read as
/// REpochPlan::fStreams streams side by side (RStreamSchedule), each by a reader of its own, the streams
/// shared among the reading threads. A window's positions, and so the batches each entry goes to, depend
/// on the streams and the seed alone: the batches are the same whatever the number of threads. A resampled
/// epoch is read in order by one thread, since how many copies an entry gets depends on those before it.
template <typename... Columns>
class REpochProducer {
   using RCursors = std::array<RColumnCursor, sizeof...(Columns)>;
   /// Runs of a whole dataframe's event loop (an RDataFrame(n), a Range) that read a slice of it at most.
   static constexpr std::uint64_t kWholeLoopRuns = 8;

   /// One stream of the epoch: the slices it reads in order, and where it stands in them.
   struct RStream {
      std::vector<RUnitSlice> fSlices;
      std::size_t fSlice = 0;
      std::uint64_t fOffset = 0; ///< Entries of the current slice read so far.
      std::unique_ptr<RSourceReader> fReader;
      std::size_t fReaderUnit = static_cast<std::size_t>(-1); ///< A unit the reader was made for.
      RCursors fCursors;
      std::uint64_t fLeft = 0; ///< Entries read but not yet written.
      std::uint64_t fFromFiles = 0;
   };

   RDatasetView fData;
   REpochPlan fEpoch;
   std::size_t fColumnThreads = 1; ///< Threads sharing the columns of one read.
   RProgress *fProgress = nullptr;  ///< The run's: entries read so far.

   bool IsSameReader(const RStream &stream, std::size_t unit) const
   {
      if (!stream.fReader)
         return false;
      const auto &plan = fData.fPlan;
      const bool file = fData.ReadsFile(unit);
      return file == fData.ReadsFile(stream.fReaderUnit) &&
             (!file || plan.GetUnit(unit).fDataFrame == plan.GetUnit(stream.fReaderUnit).fDataFrame);
   }

   /// Reads the next entries of a stream into its reader's chunks.
   void Refill(RStream &stream)
   {
      while (stream.fSlice < stream.fSlices.size() && stream.fOffset == stream.fSlices[stream.fSlice].fTake) {
         ++stream.fSlice;
         stream.fOffset = 0;
      }
      if (stream.fSlice == stream.fSlices.size())
         throw std::logic_error("ROOT::ML::RDataLoader: a stream was asked for more entries than it holds");
      const auto &slice = stream.fSlices[stream.fSlice];
      const auto &unit = fData.fPlan.GetUnit(slice.fUnit);
      const bool file = fData.ReadsFile(slice.fUnit);
      if (!IsSameReader(stream, slice.fUnit)) {
         stream.fReader = (file ? *fData.fSources[unit.fDataFrame] : fData.fEventLoop).MakeReader();
         stream.fReader->SetThreads(fColumnThreads);
         stream.fReaderUnit = slice.fUnit;
      }
      auto &reader = *stream.fReader;
      const auto wanted = slice.fTake - stream.fOffset;
      // A file source decodes a few baskets or pages at a time of the entries asked. Every run of an event loop
      // starts anew (its tree cache refilled, a whole dataframe's loop from its first entry, computing every
      // Define of the entries it skips): a slice is read in one run, a whole dataframe's loop in at most
      // kWholeLoopRuns of equal pieces, fewer when a piece would hold less than a file read decodes.
      const auto piece = std::max({(slice.fTake + kWholeLoopRuns - 1) / kWholeLoopRuns,
                                   RFileReader::kBytesPerRead / std::max<std::uint64_t>(fData.fEventLoop.GetEntryBytes(), 1),
                                   std::uint64_t{1}});
      const auto asked = file || !unit.fWholeLoop ? wanted : std::min(wanted, piece);
      const auto first = slice.fSkip + stream.fOffset;
      const auto read = reader.Read(unit, fData.fPlan.GetPassing(slice.fUnit), first, asked);
      if (read == 0)
         throw std::runtime_error("ROOT::ML::RDataLoader: dataframe " + std::to_string(unit.fDataFrame) +
                                  " delivered fewer entries than were counted when the loader was created; did "
                                  "the input files change?");
      for (std::size_t c = 0; c < sizeof...(Columns); ++c)
         stream.fCursors[c] = reader.GetCursor(c);
      stream.fLeft = read;
      stream.fOffset += read;
      if (file)
         stream.fFromFiles += read;
      fProgress->Advance(read);
   }

   /// Tells the writer, for its messages, which entry of which unit the stream writes next.
   void Locate(const RStream &stream, RBatchWriter<Columns...> &writer) const
   {
      const auto &slice = stream.fSlices[stream.fSlice];
      const auto next = slice.fSkip + stream.fOffset - stream.fLeft;
      writer.BeginSlice(fData.fPlan.GetUnit(slice.fUnit), {slice.fUnit, next, stream.fLeft});
   }

   /// Passes over the next `n` entries of a stream without writing them (the batches a resumed epoch skips).
   static void Skip(RStream &stream, std::uint64_t n)
   {
      const auto fromChunk = std::min(n, stream.fLeft);
      for (auto &cursor : stream.fCursors)
         cursor.Skip(fromChunk);
      stream.fLeft -= fromChunk;
      for (n -= fromChunk; n > 0;) {
         const auto &slice = stream.fSlices[stream.fSlice];
         const auto step = std::min(n, slice.fTake - stream.fOffset);
         stream.fOffset += step;
         n -= step;
         if (stream.fOffset == slice.fTake && n > 0) {
            ++stream.fSlice;
            stream.fOffset = 0;
         }
      }
   }

   /// Runs `step` on `stream`, naming the entries and the dataframe the stream reads in its errors.
   template <typename Step>
   void WithContext(const RStream &stream, Step &&step) const
   {
      try {
         step();
      } catch (const std::exception &error) {
         const auto &slice = stream.fSlices[std::min(stream.fSlice, stream.fSlices.size() - 1)];
         const auto &unit = fData.fPlan.GetUnit(slice.fUnit);
         const std::string range = unit.fWholeLoop ? std::string("all entries")
                                                   : "entries [" + std::to_string(unit.fBegin) + ", " +
                                                        std::to_string(unit.fEnd) + ")";
         const auto dataFrame = unit.fDataFrame % fData.fNumInputs;
         throw RReadError(dataFrame, "ROOT::ML::RDataLoader: reading " + range + " of dataframe " +
                                        std::to_string(dataFrame) + " failed: " + error.what());
      }
   }

   /// Writes the next `count` entries of a stream to the window positions from `position` on. Returns the
   /// entries written to a batch (the others are dropped), or stops early if the queue is closed.
   std::uint64_t Fill(RStream &stream, RBatchWriter<Columns...> &writer, const RShuffleBuffer &buffer,
                      const RBatchQueue &queue, std::uint64_t position, std::uint64_t count)
   {
      std::uint64_t written = 0;
      while (count > 0 && !queue.IsClosed()) {
         WithContext(stream, [&] {
            if (stream.fLeft == 0)
               Refill(stream);
            Locate(stream, writer);
            const auto n = std::min(count, stream.fLeft);
            const RDestination *destinations = &buffer.GetDestination(position);
            writer.WriteEntries(stream.fCursors, destinations, n);
            for (std::uint64_t j = 0; j < n; ++j)
               written += destinations[j].fBatch != nullptr;
            stream.fLeft -= n;
            position += n;
            count -= n;
         });
      }
      return written;
   }

   /// The streams of the epoch's entries [first, last), each given the entries of the windows skipped.
   std::vector<RStream> MakeStreams(RStreamSchedule &schedule, std::uint64_t skipped)
   {
      std::vector<RStream> streams(schedule.GetNumStreams());
      const auto counts = schedule.Take(skipped);
      for (std::size_t s = 0; s < streams.size(); ++s) {
         streams[s].fSlices = schedule.GetSlices(s);
         Skip(streams[s], counts[s]);
      }
      return streams;
   }

   /// The windows of the epoch, each filled by the reading threads, stream by stream.
   void ProduceWindows(const std::vector<RUnitSlice> &order, RShuffleBuffer &buffer, RBatchQueue &queue,
                       REpochStats &stats, const std::function<void()> &publish)
   {
      RStreamSchedule schedule(order, fEpoch.fLast - fEpoch.fFirst, fEpoch.fStreams);
      auto streams = MakeStreams(schedule, buffer.GetNumReceived());
      fProgress->Advance(buffer.GetNumReceived());
      RThreadTeam team(std::min(fEpoch.fThreads, streams.size()));
      std::vector<RBatchWriter<Columns...>> writers(team.GetSize(), RBatchWriter<Columns...>(fData.fTable));
      std::vector<std::uint64_t> written(team.GetSize(), 0);
      while (buffer.GetNumReceived() < fEpoch.fEntries) {
         const auto room = buffer.GetWindowRoom();
         const auto counts = schedule.Take(room);
         std::vector<std::uint64_t> positions(streams.size(), 0);
         for (std::size_t s = 1; s < streams.size(); ++s)
            positions[s] = positions[s - 1] + counts[s - 1];
         team.Run([&](std::size_t thread) {
            for (auto s = thread; s < streams.size(); s += team.GetSize())
               written[thread] += Fill(streams[s], writers[thread], buffer, queue, positions[s], counts[s]);
         });
         if (queue.IsClosed() || !buffer.Advance(room))
            return;
         stats.fEntriesRead = stats.fEntriesFromSources = 0;
         for (auto w : written)
            stats.fEntriesRead += w;
         for (const auto &stream : streams)
            stats.fEntriesFromSources += stream.fFromFiles;
         stats.fTruncatedObjects = SumTruncated(writers);
         publish();
      }
   }

   /// A resampled epoch: read in order, each entry copied as many times as the resampler draws.
   void ProduceResampled(const std::vector<RUnitSlice> &order, RShuffleBuffer &buffer, REpochStats &stats,
                         const std::function<void()> &publish)
   {
      RStream stream;
      stream.fSlices = order;
      RBatchWriter<Columns...> writer(fData.fTable);
      const auto &plan = fData.fResampling[static_cast<int>(fEpoch.fSplit)];
      RResampler resampler(plan, fData.fOptions.fReplacement, RRandom::Derive(fEpoch.fSeed, {0x5a3b1e}));
      const auto label = fData.fTable.GetLabelColumn();
      const bool byDataFrame = fData.fOptions.fResampleBy == ESampleBy::kDataFrame;
      bool open = true;
      for (std::uint64_t read = 0; open && read < fEpoch.fLast - fEpoch.fFirst; ++read) {
         if (stream.fLeft == 0) {
            WithContext(stream, [&] {
               Refill(stream);
               Locate(stream, writer);
            });
            stats.fEntriesFromSources = stream.fFromFiles;
            stats.fTruncatedObjects = writer.GetNumTruncated();
            publish();
         }
         --stream.fLeft;
         WithContext(stream, [&] {
            RBatchWriter<Columns...>::VisitNext(stream.fCursors, [&](const Columns &...values) {
               const auto of = byDataFrame ? static_cast<std::int64_t>(
                                                fData.fPlan.GetUnit(stream.fSlices[stream.fSlice].fUnit).fDataFrame %
                                                fData.fNumInputs)
                                          : ClassOf(RBatchWriter<Columns...>::ScalarAt(label, values...));
               const auto copies = resampler.Draw(of);
               for (std::uint64_t c = 0; c < copies && open; ++c) {
                  const auto &destination = buffer.NextSlot();
                  writer.Write(destination, values...);
                  stats.fEntriesRead += destination.fBatch != nullptr;
                  open = buffer.Advance();
               }
            });
         });
      }
      stats.fTruncatedObjects = writer.GetNumTruncated();
   }

   static std::vector<std::uint64_t> SumTruncated(const std::vector<RBatchWriter<Columns...>> &writers)
   {
      std::vector<std::uint64_t> sum(writers.front().GetNumTruncated().size(), 0);
      for (const auto &writer : writers)
         for (std::size_t c = 0; c < sum.size(); ++c)
            sum[c] += writer.GetNumTruncated()[c];
      return sum;
   }

public:
   REpochProducer(const RDatasetView &data, const REpochPlan &epoch)
      : fData(data), fEpoch(epoch), fColumnThreads(std::max<std::size_t>(1, epoch.fThreads / epoch.fStreams))
   {
   }

   void operator()(RBatchQueue &queue, REpochRun &run)
   {
      using Clock = std::chrono::steady_clock;
      const auto start = Clock::now();
      const auto bytesAtStart = TFile::GetFileBytesRead();
      const auto &options = fData.fOptions;
      RShuffleBuffer buffer(fData.fTable.GetLayout(), options.fBatchSize, fEpoch.fWindowEntries, fEpoch.fEntries,
                            fEpoch.fDropRemainder, fEpoch.fShuffled, fEpoch.fSeed, fEpoch.fSkipBatches,
                            /*readSkipped=*/fEpoch.fResampled, queue);
      REpochStats stats;
      stats.fStreams = fEpoch.fStreams;
      fProgress = &run.GetProgress();
      fProgress->Begin(EProgressTask::kLoadingSplit, fEpoch.fLast - fEpoch.fFirst);
      auto publish = [&] {
         stats.fBytesRead = TFile::GetFileBytesRead() - bytesAtStart;
         stats.fSecondsLoading = std::chrono::duration<double>(Clock::now() - start).count();
         run.SetStats(stats);
      };
      auto shard = fData.fPlan.GetShard(fEpoch.fSplit, fEpoch.fShuffled, fEpoch.fSeed, options.fRank,
                                        options.fWorldSize);
      if (fEpoch.fArranged)
         shard = fData.fResampling[static_cast<int>(fEpoch.fSplit)].Arrange(shard, fData.fPlan, fData.fNumInputs);
      const auto order = RReadingPlan::Cut(shard, fEpoch.fFirst, fEpoch.fLast);
      if (fEpoch.fResampled)
         ProduceResampled(order, buffer, stats, publish);
      else
         ProduceWindows(order, buffer, queue, stats, publish);
      if (queue.IsClosed())
         return;
      if (buffer.GetNumReceived() != fEpoch.fEntries)
         throw std::runtime_error("ROOT::ML::RDataLoader: the dataframes delivered " +
                                  std::to_string(buffer.GetNumReceived()) + " entries where " +
                                  std::to_string(fEpoch.fEntries) +
                                  " were counted when the loader was created; did the input files change?");
      stats.fBatches = fEpoch.fBatches;
      publish();
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
