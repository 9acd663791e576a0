/// \file ROOT/ML/Detail/RBasketReader.hxx
/// \brief Reading plain TTree branches a basket at a time, on several threads, beside RDataFrame.

#ifndef ROOT_ML_Detail_RBasketReader
#define ROOT_ML_Detail_RBasketReader

#include <ROOT/RDataFrame.hxx>
#include <ROOT/RTTreeDS.hxx>
#include <TBranch.h>
#include <TBufferFile.h>
#include <TChain.h>
#include <TDataType.h>
#include <TFile.h>
#include <TLeaf.h>
#include <TROOT.h>
#include <TTree.h>
#include <TVirtualMutex.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// Entries of one column held in one decompressed basket.
struct RBasketSpan {
   const std::byte *fData = nullptr;
   std::uint64_t fEntries = 0;
};

/// Walks the values of one column through the baskets read for a range of entries.
class RColumnCursor {
   const RBasketSpan *fSpan;
   const std::byte *fNext;
   std::uint64_t fLeft;

public:
   explicit RColumnCursor(const std::vector<RBasketSpan> &spans)
      : fSpan(spans.data()), fNext(spans.empty() ? nullptr : spans[0].fData),
        fLeft(spans.empty() ? 0 : spans[0].fEntries)
   {
   }
   /// The next value; the caller reads no more values than the range holds.
   template <typename T>
   T Next()
   {
      SkipEmpty();
      // Basket payloads start after a key of any length: values need not be aligned.
      T value;
      std::memcpy(&value, fNext, sizeof(T));
      fNext += sizeof(T);
      --fLeft;
      return value;
   }

   /// The next values stored back to back, at most `wanted` (> 0) of them: their address and number.
   template <typename T>
   std::pair<const std::byte *, std::uint64_t> NextRun(std::uint64_t wanted)
   {
      SkipEmpty();
      const auto n = std::min(wanted, fLeft);
      const auto *run = fNext;
      fNext += n * sizeof(T);
      fLeft -= n;
      return {run, n};
   }

   /// Passes over the next `n` values.
   template <typename T>
   void Skip(std::uint64_t n)
   {
      while (n > fLeft) {
         n -= fLeft;
         ++fSpan;
         fNext = fSpan->fData;
         fLeft = fSpan->fEntries;
      }
      fNext += n * sizeof(T);
      fLeft -= n;
   }

private:
   void SkipEmpty()
   {
      while (fLeft == 0) {
         ++fSpan;
         fNext = fSpan->fData;
         fLeft = fSpan->fEntries;
      }
   }
};

/// \brief Reads the columns of a dataframe straight from the baskets of its TTree branches, when every
/// column is a branch holding one value of a fundamental type.
///
/// RDataFrame's event loop costs a few virtual calls per value; TBranch's bulk interface decompresses a
/// whole basket into a buffer in one call, so little more than decompression is left, and each thread
/// decompresses whole columns with files of its own. The dataframe itself is not touched: its own
/// event loops may run at the same time.
///
/// \tparam Node always RNode: a template only so that its members are instantiated with the loader that
///         uses them (in a compiled engine library), not by cling when it parses this header.
template <typename Node = ROOT::RDF::RNode>
class RBasketReader {
   /// One thread's view of the dataset: its own TFile and TTree of the file being read.
   struct RFileHandle {
      std::unique_ptr<TFile> fFile;
      TTree *fTree = nullptr;
      std::size_t fFileIndex = static_cast<std::size_t>(-1);
      std::vector<TBranch *> fBranches;
   };

   std::string fTreeName;
   std::vector<std::string> fFileNames;
   std::vector<std::uint64_t> fFirstEntries; ///< Of each file in the dataframe's numbering, then the total.
   std::vector<std::string> fColumns;
   std::vector<const std::type_info *> fTypes; ///< The C++ type of each column.
   std::vector<RFileHandle> fHandles;                              ///< One per thread.
   std::vector<std::vector<std::unique_ptr<TBufferFile>>> fBuffers; ///< Per column, reused range after range.
   std::vector<std::vector<RBasketSpan>> fSpans;                   ///< Per column, for the range read last.
   /// The basket a column decompressed last: the next range often starts inside it.
   struct RLastBasket {
      std::size_t fFileIndex = static_cast<std::size_t>(-1);
      Long64_t fFirstEntry = -1;
      Int_t fEntries = 0;
      std::size_t fBuffer = 0; ///< Index in the column's buffers.
   };
   std::vector<RLastBasket> fLastBaskets; ///< Per column.
   std::size_t fEntryBytes = 0; ///< Bytes of all columns of one entry, decompressed.
   /// Decompressed bytes of a range below which one more thread costs more than it saves.
   static constexpr std::uint64_t kBytesPerThread = 1 << 20;
   /// Decompressed bytes a caller should read at a time: a few baskets per column, whatever the clusters.
   static constexpr std::uint64_t kBytesPerRead = 4 << 20;

   /// Access to a dataframe's data source, which RDataFrame keeps protected.
   struct RDataSourceAccess : ROOT::RDF::RInterfaceBase {
      static ROOT::RDF::RDataSource *Get(const ROOT::RDF::RInterfaceBase &node)
      {
         return (node.*&RDataSourceAccess::GetDataSource)();
      }
   };

   /// Whether `branch` holds one value of exactly `type` per entry, stored in baskets on file.
   static bool IsPlainScalar(TBranch *branch, const std::type_info &type, Long64_t entries)
   {
      if (!branch || branch->IsA() != TBranch::Class() || !branch->SupportsBulkRead())
         return false;
      auto *leaf = static_cast<TLeaf *>(branch->GetListOfLeaves()->At(0));
      if (!leaf || leaf->GetLeafCount() || leaf->GetLenStatic() != 1)
         return false;
      auto *leafType = gROOT->GetType(leaf->GetTypeName());
      const auto wanted = TDataType::GetType(type);
      // Entries kept in a basket inside the TTree header, as old writers left them, need a regular read.
      return leafType && wanted != kOther_t && leafType->GetType() == wanted &&
             branch->GetBasketEntry()[branch->GetWriteBasket()] == entries;
   }

   static bool HasFriends(TTree &tree)
   {
      auto *friends = tree.GetListOfFriends();
      return friends && friends->GetEntries() > 0;
   }

   /// Opens file `index` for a thread; returns its entries, or -1 if a column is not a plain scalar there.
   Long64_t Open(RFileHandle &handle, std::size_t index) const
   {
      handle = RFileHandle{};
      handle.fFile.reset(TFile::Open(fFileNames[index].c_str(), "READ"));
      if (!handle.fFile || handle.fFile->IsZombie())
         return -1;
      {
         // The reader owns its files: ROOT's cleanup at exit must not close them under it.
         R__LOCKGUARD(gROOTMutex);
         gROOT->GetListOfFiles()->Remove(handle.fFile.get());
      }
      handle.fTree = handle.fFile->template Get<TTree>(fTreeName.c_str());
      if (!handle.fTree || HasFriends(*handle.fTree))
         return -1;
      handle.fTree->SetCacheSize(0); // baskets are read one branch at a time, exactly once
      const auto entries = handle.fTree->GetEntries();
      for (std::size_t c = 0; c < fColumns.size(); ++c) {
         auto *branch = handle.fTree->GetBranch(fColumns[c].c_str());
         if (!IsPlainScalar(branch, *fTypes[c], entries))
            return -1;
         handle.fBranches.push_back(branch);
      }
      handle.fFileIndex = index;
      return entries;
   }

   /// Decompresses the baskets of column `c` that hold entries [begin, end) of file `handle`; the first
   /// is not decompressed again if it was the last one of the range read before.
   void ReadColumn(RFileHandle &handle, std::size_t c, Long64_t begin, Long64_t end)
   {
      auto *branch = handle.fBranches[c];
      const Long64_t *firstEntries = branch->GetBasketEntry();
      const Long64_t *past = firstEntries + branch->GetWriteBasket();
      const std::size_t valueSize = static_cast<TLeaf *>(branch->GetListOfLeaves()->At(0))->GetLenType();
      auto &buffers = fBuffers[c];
      auto &spans = fSpans[c];
      auto &lastBasket = fLastBaskets[c];
      spans.clear();
      // Bulk reads start at the first entry of a basket.
      Long64_t basketStart = *(std::upper_bound(firstEntries, past, begin) - 1);
      for (std::size_t k = 0; basketStart < end; ++k) {
         if (k == buffers.size())
            buffers.push_back(std::make_unique<TBufferFile>(TBuffer::kWrite, 32 * 1024));
         Int_t n = 0;
         if (k == 0 && lastBasket.fFileIndex == handle.fFileIndex && lastBasket.fFirstEntry == basketStart) {
            std::swap(buffers[0], buffers[lastBasket.fBuffer]);
            n = lastBasket.fEntries;
         } else {
            n = branch->GetBulkRead().GetBulkEntries(basketStart, *buffers[k]);
         }
         if (n <= 0)
            throw std::runtime_error("ROOT::ML::RDataLoader: could not read the basket of branch '" + fColumns[c] +
                                     "' at entry " + std::to_string(basketStart) + " of file " +
                                     fFileNames[handle.fFileIndex]);
         const Long64_t from = std::max(begin, basketStart);
         const Long64_t to = std::min(end, basketStart + n);
         spans.push_back({reinterpret_cast<const std::byte *>(buffers[k]->GetCurrent()) + (from - basketStart) * valueSize,
                          static_cast<std::uint64_t>(to - from)});
         lastBasket = {handle.fFileIndex, basketStart, n, k};
         basketStart += n;
      }
      // Buffers beyond this range's baskets would keep the size of the largest basket they ever held.
      buffers.resize(spans.size());
   }

   RBasketReader() = default;

public:
   /// The reader of `node`'s `columns`, or nullptr when they cannot all be read from baskets: the
   /// dataframe is not a TTree or TChain of files, has friend trees, defines one of the columns, or a
   /// column is not a branch of one value of exactly its type in every file. The reader ignores the
   /// dataframe's filters: it reads source entries, and the caller picks those that pass.
   static std::unique_ptr<RBasketReader> Create(Node node, const std::vector<std::string> &columns,
                                                const std::vector<const std::type_info *> &types, std::size_t threads)
   {
      auto *source = dynamic_cast<ROOT::Internal::RDF::RTTreeDS *>(RDataSourceAccess::Get(node));
      if (!source || threads == 0)
         return nullptr;
      const auto defined = node.GetDefinedColumnNames();
      for (const auto &column : columns)
         if (std::find(defined.begin(), defined.end(), column) != defined.end())
            return nullptr;
      TTree *tree = source->GetTree();
      if (!tree || HasFriends(*tree))
         return nullptr;
      std::unique_ptr<RBasketReader> reader(new RBasketReader);
      if (auto *chain = dynamic_cast<TChain *>(tree)) {
         for (auto *element : *chain->GetListOfFiles()) {
            reader->fFileNames.push_back(element->GetTitle());
            if (reader->fTreeName.empty())
               reader->fTreeName = element->GetName();
            else if (reader->fTreeName != element->GetName())
               return nullptr;
         }
      } else {
         TFile *file = tree->GetCurrentFile();
         TDirectory *directory = tree->GetDirectory();
         if (!file || !directory)
            return nullptr;
         const std::string path = directory->GetPath();
         const auto inFile = path.find(":/");
         const std::string subdirectory = inFile == std::string::npos ? "" : path.substr(inFile + 2);
         reader->fFileNames.push_back(file->GetName());
         reader->fTreeName = subdirectory.empty() ? tree->GetName() : subdirectory + "/" + tree->GetName();
      }
      reader->fColumns = columns;
      reader->fTypes = types;
      reader->fFirstEntries.push_back(0);
      RFileHandle probe;
      for (std::size_t f = 0; f < reader->fFileNames.size(); ++f) {
         const auto entries = reader->Open(probe, f);
         if (entries < 0)
            return nullptr;
         reader->fFirstEntries.push_back(reader->fFirstEntries.back() + entries);
      }
      for (auto *branch : probe.fBranches)
         reader->fEntryBytes += static_cast<TLeaf *>(branch->GetListOfLeaves()->At(0))->GetLenType();
      reader->fHandles.resize(threads);
      reader->fHandles[0] = std::move(probe); // the last file stays open for the loading thread
      reader->fBuffers.resize(columns.size());
      reader->fSpans.resize(columns.size());
      reader->fLastBaskets.resize(columns.size());
      return reader;
   }

   /// Decompresses the baskets holding entries [begin, end) of every column, in the dataframe's numbering
   /// and within one file (a cluster never spans files). Each thread takes the next file handle not yet
   /// taken and reads its share of the columns.
   void Read(std::uint64_t begin, std::uint64_t end)
   {
      const std::size_t file = std::upper_bound(fFirstEntries.begin(), fFirstEntries.end(), begin) - fFirstEntries.begin() - 1;
      if (end > fFirstEntries[file + 1])
         throw std::logic_error("ROOT::ML::RDataLoader: a reading unit spans two files");
      const auto localBegin = static_cast<Long64_t>(begin - fFirstEntries[file]);
      const auto localEnd = static_cast<Long64_t>(end - fFirstEntries[file]);
      // Column c is always read through handle c % handles: ROOT keeps a basket buffer for every branch
      // it has read of each tree, so a column read through every handle would hold it once per handle.
      // A file too small for a second thread to pay off is read through one handle, opened once.
      const auto fileBytes = (fFirstEntries[file + 1] - fFirstEntries[file]) * fEntryBytes;
      const std::size_t handles = std::min<std::uint64_t>(
         {fHandles.size(), fColumns.size(), std::max<std::uint64_t>(1, fileBytes / kBytesPerThread)});
      std::atomic<std::size_t> nextHandle{0};
      auto work = [&] {
         const auto expected = static_cast<Long64_t>(fFirstEntries[file + 1] - fFirstEntries[file]);
         for (auto h = nextHandle++; h < handles; h = nextHandle++) {
            auto &handle = fHandles[h];
            if (handle.fFileIndex != file && Open(handle, file) != expected)
               throw std::runtime_error("ROOT::ML::RDataLoader: file " + fFileNames[file] +
                                        " cannot be read as it was when the loader was created: it is gone, or "
                                        "its tree or branches changed");
            for (auto c = h; c < fColumns.size(); c += handles)
               ReadColumn(handle, c, localBegin, localEnd);
         }
      };
      const std::size_t helpers =
         std::min<std::uint64_t>(handles - 1, (end - begin) * fEntryBytes / kBytesPerThread);
      std::vector<std::exception_ptr> errors(helpers + 1);
      std::vector<std::thread> threads;
      for (std::size_t t = 1; t <= helpers; ++t)
         threads.emplace_back([&, t] {
            try {
               work();
            } catch (...) {
               errors[t] = std::current_exception();
            }
         });
      try {
         work();
      } catch (...) {
         errors[0] = std::current_exception();
      }
      for (auto &thread : threads)
         thread.join();
      for (auto &error : errors)
         if (error)
            std::rethrow_exception(error);
   }

   /// Entries to read at a time: kBytesPerRead of them.
   std::uint64_t GetEntriesPerRead() const { return std::max<std::uint64_t>(1, kBytesPerRead / fEntryBytes); }

   /// Entries of all files together: the dataframe's entries, unless it was given a range of them.
   std::uint64_t GetNumEntries() const { return fFirstEntries.back(); }

   /// A cursor over column `c`'s values of the range read last.
   RColumnCursor GetCursor(std::size_t c) const { return RColumnCursor(fSpans[c]); }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
