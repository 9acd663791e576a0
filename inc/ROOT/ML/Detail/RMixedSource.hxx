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
   std::unique_ptr<RSource> fFiles;       ///< Reads the stored columns, numbered among themselves.
   REventLoopSource<Columns...> fLoop;    ///< Computes the Defines; placeholders for the stored columns.
   std::vector<std::size_t> fFileColumn;  ///< Per loaded column, its number in fFiles, or kFromLoop.

   static constexpr std::size_t kFromLoop = static_cast<std::size_t>(-1);

   class RReader final : public RSourceReader {
      const RMixedSource &fSource;
      std::unique_ptr<RSourceReader> fFiles;
      std::unique_ptr<RSourceReader> fLoop;

      void ReadEntries(std::uint64_t, std::uint64_t) final {}

   public:
      explicit RReader(const RMixedSource &source)
         : RSourceReader(0, source.fEntryBytes),
           fSource(source),
           fFiles(source.fFiles->MakeReader()),
           fLoop(source.fLoop.MakeReader())
      {
      }
      void SetThreads(std::size_t threads) final { fFiles->SetThreads(threads); }

      std::uint64_t Read(const RReadingUnit &unit, const RPassingMask &mask, std::uint64_t first,
                         std::uint64_t count) final
      {
         const auto planned = fFiles->PlanRead(unit, mask, first, count).fCount;
         std::uint64_t fromLoop = 0;
         std::exception_ptr loopError;
         std::thread loop([&] {
            try {
               fromLoop = fLoop->Read(unit, mask, first, planned);
            } catch (...) {
               loopError = std::current_exception();
            }
         });
         std::uint64_t fromFiles = 0;
         std::exception_ptr filesError;
         try {
            fromFiles = fFiles->Read(unit, mask, first, planned);
         } catch (...) {
            filesError = std::current_exception();
         }
         loop.join();
         for (const auto &error : {loopError, filesError})
            if (error)
               std::rethrow_exception(error);
         if (fromLoop != planned || fromFiles != planned)
            throw std::runtime_error("its event loop delivered " + std::to_string(fromLoop) + " entries where its files hold " +
                                     std::to_string(fromFiles) + " of the " + std::to_string(planned) +
                                     " passing entries asked; did the input files change?");
         return planned;
      }

      RColumnCursor GetCursor(std::size_t c) const final
      {
         const auto file = fSource.fFileColumn[c];
         return file == kFromLoop ? fLoop->GetCursor(c) : fFiles->GetCursor(file);
      }
   };

public:
   /// \param files the file source of the stored columns, those c with !fromLoop[c], in their order
   /// \param loopColumns the loaded columns, placeholders for the stored ones (REventLoops::WithPlaceholders())
   RMixedSource(std::unique_ptr<RSource> files, REventLoops<Columns...> &loops, std::vector<std::string> loopColumns,
                const std::vector<bool> &fromLoop, std::uint64_t loopEntryBytes)
      : fFiles(std::move(files)), fLoop(loops, std::move(loopColumns), fromLoop, loopEntryBytes)
   {
      for (std::size_t c = 0, file = 0; c < fromLoop.size(); ++c)
         fFileColumn.push_back(fromLoop[c] ? kFromLoop : file++);
      fEntryBytes = fFiles->GetEntryBytes();
      fReaderBytes = fFiles->GetReaderBytes() + fLoop.GetReaderBytes();
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
