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

/// \brief Reads the loaded columns of a TTree or TChain dataframe straight from their baskets: scalars,
/// CMS NanoAOD's arrays with a counter branch (`Jet_pt[nJet]/F`) and unsplit std::vector / RVec branches.
///
/// Where every basket of every column lies is copied from the trees when the source is created; reading then
/// needs only a file handle per thread, through which each thread decompresses its share of the columns
/// into buffers of its own. The dataframe is not touched: its own event loops may run at the same time.
///
/// \tparam Node always RNode: a template only so that its members are instantiated with the loader that uses
///         them (in a compiled engine library), not by cling when it parses this header.
template <typename Node = ROOT::RDF::RNode>
class RTreeSource final : public RSource {
   /// One file of the dataset: its tree and, per column, where the baskets lie.
   struct RFile {
      std::string fName;
      std::string fTree;
      std::uint64_t fFirstEntry = 0; ///< In the dataframe's numbering.
      std::uint64_t fEntries = 0;
      std::vector<std::unique_ptr<RBranchBaskets>> fBranches;
   };
   /// One thread's open file, with the process that opened it.
   struct RHandle {
      std::unique_ptr<TFile> fFile;
      std::size_t fIndex = static_cast<std::size_t>(-1);
      pid_t fProcess = 0;
   };

   std::vector<std::string> fColumns;
   std::vector<RBranchFormat> fFormats; ///< Per column, the same in every file.
   std::vector<RFile> fFiles;
   std::vector<RHandle> fHandles; ///< Per thread.
   std::vector<RBasketLoader> fLoaders; ///< Per column.

   static std::unique_ptr<TFile> OpenFile(const std::string &name)
   {
      std::unique_ptr<TFile> file(TFile::Open(name.c_str(), "READ"));
      if (!file || file->IsZombie())
         return nullptr;
      // The source owns its files: ROOT's cleanup at exit must not close them under it.
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
      std::uint64_t bytes = 0;
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
         f.fBranches.push_back(std::make_unique<RBranchBaskets>(*branch));
         bytes += static_cast<std::uint64_t>(branch->GetTotBytes());
      }
      if (fFiles.empty() && f.fEntries > 0)
         fEntryBytes = std::max<std::uint64_t>(1, bytes / f.fEntries);
      return "";
   }

   TFile &Handle(std::size_t thread, std::size_t index)
   {
      auto &handle = fHandles[thread];
      if (handle.fIndex != index || handle.fProcess != ::getpid()) {
         handle = RHandle{OpenFile(fFiles[index].fName), index, ::getpid()};
         if (!handle.fFile)
            throw std::runtime_error("ROOT::ML::RDataLoader: file " + fFiles[index].fName +
                                     " cannot be opened any more");
      }
      return *handle.fFile;
   }

   RTreeSource() = default;

public:
   /// The source of `node`'s `columns`, or nullptr (with the reason in `whyNot`) when they cannot all be read
   /// from baskets: the dataframe is not a TTree or TChain of files, has friend trees, defines one of the
   /// columns, or a column's branch is of a kind the source does not decode (see ClassifyBranch).
   static std::unique_ptr<RTreeSource> Create(Node node, const std::vector<std::string> &columns,
                                              const std::vector<RColumnNumbers> &numbers, std::size_t threads,
                                              std::string &whyNot)
   {
      auto *source = dynamic_cast<ROOT::Internal::RDF::RTTreeDS *>(RDataSourceAccess::Get(node));
      TTree *tree = source ? source->GetTree() : nullptr;
      if (!tree) {
         whyNot = "the dataframe is not a TTree or TChain";
         return nullptr;
      }
      const auto defined = node.GetDefinedColumnNames();
      for (const auto &column : columns)
         if (std::find(defined.begin(), defined.end(), column) != defined.end()) {
            whyNot = "column '" + column + "' is a Define";
            return nullptr;
         }
      if (HasFriends(*tree)) {
         whyNot = "the tree has friends";
         return nullptr;
      }
      std::unique_ptr<RTreeSource> reader(new RTreeSource);
      reader->fColumns = columns;
      reader->fThreads = std::max<std::size_t>(threads, 1);
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
      reader->fHandles.resize(reader->fThreads);
      reader->fLoaders.resize(columns.size());
      reader->fChunks.resize(columns.size());
      return reader;
   }

   void Read(std::uint64_t begin, std::uint64_t end) override
   {
      const std::size_t f =
         std::upper_bound(fFiles.begin(), fFiles.end(), begin, [](std::uint64_t e, const RFile &file) {
            return e < file.fFirstEntry;
         }) - fFiles.begin() - 1;
      auto &file = fFiles[f];
      if (end > file.fFirstEntry + file.fEntries)
         throw std::logic_error("ROOT::ML::RDataLoader: a reading unit spans two files");
      const auto first = static_cast<Long64_t>(begin - file.fFirstEntry);
      const auto last = static_cast<Long64_t>(end - file.fFirstEntry);
      ForEachColumn(end - begin, [&](std::size_t thread, std::size_t c) {
         auto &chunk = fChunks[c];
         const bool vector = fFormats[c].fLayout != EBranchLayout::kScalar;
         chunk.Clear(vector);
         std::uint64_t elements = 0;
         ReadBranch(Handle(thread, f), *file.fBranches[c], fFormats[c], first, last, fLoaders[c], chunk, elements);
      });
   }

   std::uint64_t GetNumEntries() const override { return fFiles.back().fFirstEntry + fFiles.back().fEntries; }
   const char *GetName() const override { return "TTree baskets"; }

};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
