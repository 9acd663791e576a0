/// \file ROOT/ML/Detail/RMixedSource.hxx
/// \brief The source of a dataframe whose loaded columns are partly Defines: the stored ones from the files,
/// only the Defines from the event loop.

#ifndef ROOT_ML_Detail_RMixedSource
#define ROOT_ML_Detail_RMixedSource

#include "ROOT/ML/Detail/REventLoopSource.hxx"
#include "ROOT/ML/Detail/RSource.hxx"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Reads the columns stored in a dataframe's files with its file source, on the reading threads, while
/// its event loop computes the Defined columns of the same entries, and nothing else, on a thread of its own.
///
/// An event loop that delivers every column decodes them all on one thread; here it reads only the branches
/// or fields its Defines and Filters need. The two halves read the same passing entries: the plan's recorded
/// mask tells both where they lie, and a read checks that both delivered them all.
template <typename... Columns>
class RMixedSource final : public RSource {
   std::unique_ptr<RFileSource> fFiles;   ///< Reads the stored columns, numbered among themselves.
   REventLoopSource<Columns...> fLoop;    ///< Computes the Defines; placeholders for the stored columns.
   std::vector<std::size_t> fFileColumn;  ///< Per loaded column, its number in fFiles, or kFromLoop.

   static constexpr std::size_t kFromLoop = static_cast<std::size_t>(-1);

   /// \brief Reads a range of entries with both halves side by side: the files on the calling thread, the event
   /// loop, the slower half, on a thread of its own, which then goes on with the range that follows among those
   /// asked while the caller copies the first. So the event loop runs all the time.
   class RReader final : public RSourceReader {
      /// An event loop's read on its thread.
      struct RLoopRead {
         std::thread fThread;
         const RReadingUnit *fUnit = nullptr;
         std::uint64_t fFirst = 0;
         std::uint64_t fCount = 0;
         std::uint64_t fDelivered = 0;
         std::exception_ptr fError;
      };

      const RMixedSource &fSource;
      std::unique_ptr<RFileReader> fFiles;
      /// The cursors read one while the next range fills the other.
      std::unique_ptr<RSourceReader> fLoops[2];
      std::size_t fCurrent = 0; ///< The event loop reader the cursors read.
      RLoopRead fLoopRead;

      void StartLoop(std::size_t reader, const RReadingUnit &unit, const RPassingMask &mask, std::uint64_t first,
                     std::uint64_t count)
      {
         fLoopRead = {{}, &unit, first, count, 0, nullptr};
         fLoopRead.fThread = std::thread([this, reader, &unit, &mask, first, count] {
            try {
               fLoopRead.fDelivered = fLoops[reader]->Read(unit, mask, first, count);
            } catch (...) {
               fLoopRead.fError = std::current_exception();
            }
         });
      }
      void WaitForLoop()
      {
         if (fLoopRead.fThread.joinable())
            fLoopRead.fThread.join();
      }

   public:
      explicit RReader(const RMixedSource &source)
         : fSource(source),
           fFiles(source.fFiles->MakeFileReader()),
           fLoops{source.fLoop.MakeReader(), source.fLoop.MakeReader()}
      {
      }
      ~RReader() final { WaitForLoop(); }
      void SetThreads(std::size_t threads) final { fFiles->SetThreads(threads); }

      std::uint64_t Read(const RReadingUnit &unit, const RPassingMask &mask, std::uint64_t first,
                         std::uint64_t count) final
      {
         const auto planned = fFiles->PlanRead(unit, mask, first, count).fCount;
         fCurrent = 1 - fCurrent;
         const bool started = fLoopRead.fThread.joinable() && fLoopRead.fUnit == &unit && fLoopRead.fFirst == first &&
                              fLoopRead.fCount == planned;
         if (!started) {
            // A range read ahead but not asked for (the stream skipped entries) is dropped with its error.
            WaitForLoop();
            StartLoop(fCurrent, unit, mask, first, planned);
         }
         std::uint64_t fromFiles = 0;
         std::exception_ptr filesError;
         try {
            fromFiles = fFiles->Read(unit, mask, first, planned);
         } catch (...) {
            filesError = std::current_exception();
         }
         WaitForLoop();
         for (const auto &error : {fLoopRead.fError, filesError})
            if (error)
               std::rethrow_exception(error);
         if (fLoopRead.fDelivered != planned || fromFiles != planned)
            throw std::runtime_error("of " + std::to_string(planned) + " passing entries asked, its event loop delivered " +
                                     std::to_string(fLoopRead.fDelivered) + " and its files " +
                                     std::to_string(fromFiles) + "; did the input files change?");
         const auto next = first + planned;
         if (next < first + count)
            StartLoop(1 - fCurrent, unit, mask, next, fFiles->PlanRead(unit, mask, next, first + count - next).fCount);
         return planned;
      }

      RColumnCursor GetCursor(std::size_t c) const final
      {
         const auto file = fSource.fFileColumn[c];
         return file == kFromLoop ? fLoops[fCurrent]->GetCursor(c) : fFiles->GetCursor(file);
      }
   };

public:
   /// \param files the file source of the stored columns, those c with !fromLoop[c], in their order
   /// \param loopColumns the loaded columns, placeholders for the stored ones (REventLoops::WithPlaceholders())
   RMixedSource(std::unique_ptr<RFileSource> files, REventLoops<Columns...> &loops, std::vector<std::string> loopColumns,
                const std::vector<bool> &fromLoop, std::uint64_t loopEntryBytes)
      : fFiles(std::move(files)), fLoop(loops, std::move(loopColumns), fromLoop, loopEntryBytes)
   {
      for (std::size_t c = 0, file = 0; c < fromLoop.size(); ++c)
         fFileColumn.push_back(fromLoop[c] ? kFromLoop : file++);
      fEntryBytes = fFiles->GetEntryBytes();
      fReaderBytes = fFiles->GetReaderBytes() + 2 * fLoop.GetReaderBytes(); // a reader's two event loop readers
   }

   std::unique_ptr<RSourceReader> MakeReader() const final { return std::make_unique<RReader>(*this); }
   std::uint64_t GetNumEntries() const final { return fFiles->GetNumEntries(); }
   const char *GetName() const final { return fFiles->GetName(); }
   /// The event loop reads a unit's entries in parts only where it can be narrowed to them.
   bool CanRead(const RReadingUnit &unit, const RPassingMask &passing) const final
   {
      return !unit.fListed && RSource::CanRead(unit, passing);
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
