/// \file ROOT/ML/Detail/RTreeSource.hxx
/// \brief The source of TTree and TChain dataframes: their branches read straight from the baskets.

#ifndef ROOT_ML_Detail_RTreeSource
#define ROOT_ML_Detail_RTreeSource

#include "ROOT/ML/Detail/RSource.hxx"
#include "ROOT/ML/Detail/RTreeBaskets.hxx"

#include <ROOT/RDataFrame.hxx>
#include <ROOT/RTTreeDS.hxx>
#include <TChain.h>
#include <TFile.h>
#include <TROOT.h>
#include <TTree.h>
#include <TVirtualMutex.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Where the loaded columns of a TTree or TChain dataframe lie in its files: the source of readers that
/// decode them straight from their baskets (scalars, CMS NanoAOD's arrays with a counter branch such as
/// `Jet_pt[nJet]/F`, unsplit std::vector / RVec branches).
///
/// Where every basket of every column lies is copied from the trees when the source is created; a reader
/// then needs only a file handle, through which it decompresses the baskets into buffers of its own. The
/// dataframe is not touched: its own event loops may run at the same time.
///
/// \tparam Node always RNode: a template only so that its members are instantiated with the loader that uses
///         them (in a compiled engine library), not by cling when it parses this header.
template <typename Node = ROOT::RDF::RNode>
class RTreeSource final : public RFileSource {
   /// One file of the dataset: its tree and, per column, where the baskets lie.
   struct RFile {
      std::string fName;
      std::string fTree;
      std::uint64_t fFirstEntry = 0; ///< In the dataframe's numbering.
      std::uint64_t fEntries = 0;
      std::vector<RBranchBaskets> fBranches;
   };

   std::vector<std::string> fColumns;
   std::vector<RBranchFormat> fFormats; ///< Per column, the same in every file.
   std::vector<RFile> fFiles;

   /// Decodes the baskets of the columns through file handles of its own, one per thread of a read.
   class RReader final : public RFileReader {
      /// One thread's open file, with the process that opened it.
      struct RHandle {
         std::unique_ptr<TFile> fFile;
         std::size_t fIndex = static_cast<std::size_t>(-1);
         pid_t fProcess = 0;
      };
      const RTreeSource &fSource;
      std::vector<RHandle> fHandles;       ///< Per thread.
      std::vector<RBasketLoader> fLoaders; ///< Per column.

      TFile &Open(std::size_t thread, std::size_t index)
      {
         auto &handle = fHandles[thread];
         if (handle.fIndex != index || handle.fProcess != ::getpid()) {
            handle = RHandle{OpenFile(fSource.fFiles[index].fName), index, ::getpid()};
            if (!handle.fFile)
               throw std::runtime_error("ROOT::ML::RDataLoader: file " + fSource.fFiles[index].fName +
                                        " cannot be opened any more");
         }
         return *handle.fFile;
      }

      void ReadEntries(std::uint64_t begin, std::uint64_t end) final
      {
         const auto &files = fSource.fFiles;
         const std::size_t f = std::upper_bound(files.begin(), files.end(), begin,
                                                [](std::uint64_t e, const RFile &file) { return e < file.fFirstEntry; }) -
                               files.begin() - 1;
         const auto &file = files[f];
         if (end > file.fFirstEntry + file.fEntries)
            throw std::logic_error("ROOT::ML::RDataLoader: a reading unit spans two files");
         ForEachColumn(end - begin, [&](std::size_t thread, std::size_t c) {
            const auto &format = fSource.fFormats[c];
            fChunks[c].Clear(format.fLayout != EBranchLayout::kScalar, format.fElementSize);
            ReadBranch(Open(thread, f), file.fBranches[c], format, static_cast<Long64_t>(begin - file.fFirstEntry),
                       static_cast<Long64_t>(end - file.fFirstEntry), fLoaders[c], fChunks[c]);
         });
      }

   public:
      explicit RReader(const RTreeSource &source)
         : RFileReader(source.fColumns.size(), source.fEntryBytes),
           fSource(source),
           fHandles(1),
           fLoaders(source.fColumns.size())
      {
      }
      void SetThreads(std::size_t threads) final
      {
         RFileReader::SetThreads(threads);
         fHandles.resize(fThreads);
      }
   };

   static std::unique_ptr<TFile> OpenFile(const std::string &name)
   {
      std::unique_ptr<TFile> file(TFile::Open(name.c_str(), "READ"));
      if (!file || file->IsZombie())
         return nullptr;
      // The reader owns its file: ROOT's cleanup at exit must not close it under it.
      R__LOCKGUARD(gROOTMutex);
      gROOT->GetListOfFiles()->Remove(file.get());
      return file;
   }

   /// The files and tree names of a dataframe's TTree or TChain; empty if it has none we can read from.
   static std::vector<std::pair<std::string, std::string>> ListFiles(TTree &tree)
   {
      std::vector<std::pair<std::string, std::string>> files;
      if (auto *chain = dynamic_cast<TChain *>(&tree)) {
         for (auto *element : *chain->GetListOfFiles())
            files.emplace_back(element->GetTitle(), element->GetName());
         return files;
      }
      TFile *file = tree.GetCurrentFile();
      TDirectory *directory = tree.GetDirectory();
      if (!file || !directory)
         return files;
      const std::string path = directory->GetPath();
      const auto inFile = path.find(":/");
      const std::string subdirectory = inFile == std::string::npos ? "" : path.substr(inFile + 2);
      files.emplace_back(file->GetName(), subdirectory.empty() ? tree.GetName() : subdirectory + "/" + tree.GetName());
      return files;
   }

   static bool HasFriends(TTree &tree)
   {
      auto *friends = tree.GetListOfFriends();
      return friends && friends->GetEntries() > 0;
   }

   /// Copies where the baskets of every column lie in file `f`; returns why not, or an empty string.
   std::string Describe(RFile &f, const std::vector<RColumnNumbers> &numbers)
   {
      auto file = OpenFile(f.fName);
      if (!file)
         return "file " + f.fName + " cannot be opened";
      auto *tree = file->template Get<TTree>(f.fTree.c_str());
      if (!tree)
         return "file " + f.fName + " has no tree " + f.fTree;
      if (HasFriends(*tree))
         return "the tree has friends";
      f.fEntries = static_cast<std::uint64_t>(tree->GetEntries());
      std::uint64_t bytes = 0, readerBytes = 0;
      for (std::size_t c = 0; c < fColumns.size(); ++c) {
         auto *branch = tree->GetBranch(fColumns[c].c_str());
         auto format = ClassifyBranch(branch, numbers[c]);
         if (format.fLayout == EBranchLayout::kNone)
            return "column '" + fColumns[c] + "' is " + format.fWhyNot;
         if (fFormats.size() == c)
            fFormats.push_back(format);
         else if (fFormats[c].fLayout != format.fLayout || fFormats[c].fElementSize != format.fElementSize)
            return "column '" + fColumns[c] + "' is stored differently in " + f.fName;
         if (branch->GetEntries() != tree->GetEntries())
            return "column '" + fColumns[c] + "' has fewer entries than its tree";
         f.fBranches.emplace_back(*branch);
         bytes += static_cast<std::uint64_t>(branch->GetTotBytes());
         // The largest basket, decompressed as the branch compresses on average, and compressed (while it is
         // decompressed: only small compressed baskets are kept).
         const auto &stored = f.fBranches.back().fBytes;
         const auto largest = stored.empty() ? 0 : *std::max_element(stored.begin(), stored.end());
         const double ratio = branch->GetZipBytes() > 0 ? double(branch->GetTotBytes()) / branch->GetZipBytes() : 1.;
         readerBytes += static_cast<std::uint64_t>(largest * ratio) +
                        std::min<std::uint64_t>(largest, RBasketLoader::kKeptCompressedBytes);
      }
      fReaderBytes = std::max(fReaderBytes, readerBytes);
      if (fFiles.empty() && f.fEntries > 0)
         fEntryBytes = std::max<std::uint64_t>(1, bytes / f.fEntries);
      return "";
   }

   RTreeSource() = default;

public:
   /// The source of `node`'s stored `columns` (the loader leaves Defines to the event loop), or nullptr (with
   /// the reason in `whyNot`) when they cannot all be read from baskets: the dataframe is not a TTree or TChain
   /// of files, has friend trees, or a column's branch is of a kind the source does not decode (see
   /// ClassifyBranch).
   static std::unique_ptr<RTreeSource> Create(Node node, const std::vector<std::string> &columns,
                                              const std::vector<RColumnNumbers> &numbers, std::string &whyNot)
   {
      auto *source = dynamic_cast<ROOT::Internal::RDF::RTTreeDS *>(RDataSourceAccess::Get(node));
      TTree *tree = source ? source->GetTree() : nullptr;
      if (!tree) {
         whyNot = "the dataframe is not a TTree or TChain";
         return nullptr;
      }
      if (HasFriends(*tree)) {
         whyNot = "the tree has friends";
         return nullptr;
      }
      std::unique_ptr<RTreeSource> reader(new RTreeSource);
      reader->fColumns = columns;
      for (auto &[name, treeName] : ListFiles(*tree)) {
         RFile file;
         file.fName = name;
         file.fTree = treeName;
         file.fFirstEntry = reader->fFiles.empty() ? 0 : reader->fFiles.back().fFirstEntry + reader->fFiles.back().fEntries;
         whyNot = reader->Describe(file, numbers);
         if (!whyNot.empty())
            return nullptr;
         reader->fFiles.push_back(std::move(file));
      }
      if (reader->fFiles.empty()) {
         whyNot = "the tree is not in a file";
         return nullptr;
      }
      return reader;
   }

   std::unique_ptr<RFileReader> MakeFileReader() const final { return std::make_unique<RReader>(*this); }
   std::uint64_t GetNumEntries() const final { return fFiles.back().fFirstEntry + fFiles.back().fEntries; }
   const char *GetName() const final { return "TTree baskets"; }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
