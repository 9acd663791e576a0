/// \file ROOT/ML/RDatasetWriter.hxx
/// \brief Writes batches, entry by entry, as an RNTuple or a TTree: the prepared dataset a loader delivers,
/// saved to read back without its Filters, Defines, split or resampling.

#ifndef ROOT_ML_RDatasetWriter
#define ROOT_ML_RDatasetWriter

#include "ROOT/ML/RBatch.hxx"

#include <ROOT/RNTupleModel.hxx>
#include <ROOT/RNTupleWriteOptions.hxx>
#include <ROOT/RNTupleWriter.hxx>
#include <ROOT/RVec.hxx>
#include <TFile.h>
#include <TNamed.h>
#include <TTree.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {

/// The layout a dataset is saved in.
enum class EDatasetFormat : int { kRNTuple, kTTree };

/// One column of a saved dataset: fWidth values of type fDType per entry, a scalar when fWidth is 1 and a
/// vector (`ROOT::RVec` in an RNTuple, `std::vector` in a TTree) of exactly fWidth values otherwise.
struct RSavedColumn {
   std::string fName;
   EDType fDType = EDType::kFloat32;
   std::size_t fWidth = 1;
};

/// \brief Appends entries to a new RNTuple or TTree, column by column from row-major tensors.
///
/// The columns describe a batch's blocks in order: the first ones share the features' width, the next the
/// targets', the last the weights', so that Fill(batch) takes any batch of a loader with those columns:
/// ~~~{.cpp}
/// ROOT::ML::RDatasetWriter writer("prepared.root", "events", ROOT::ML::EDatasetFormat::kRNTuple,
///                                 {{"MET_pt"}, {"Jet_pt", ROOT::ML::EDType::kFloat32, 6}, {"label"}});
/// for (const auto &batch : loader.Train())
///    writer.Fill(batch);
/// writer.Close();
/// ~~~
/// Pages (RNTuple) and baskets (TTree) are compressed on ROOT's implicit multi-threading pool when it is
/// enabled (`ROOT::EnableImplicitMT()`), on the filling thread otherwise.
class RDatasetWriter {
   /// Copies one entry's values of a column, from where they lie in a tensor, into what the writer fills.
   using RCopy = std::function<void(const std::byte *)>;

   std::unique_ptr<TFile> fFile;
   std::unique_ptr<RNTupleWriter> fNTuple;
   TTree *fTree = nullptr; ///< Owned by fFile.
   std::vector<RSavedColumn> fColumns;
   std::vector<RCopy> fCopies;                      ///< Per column.
   std::vector<std::shared_ptr<void>> fTreeBuffers; ///< What the TTree's branches point to.
   std::vector<std::pair<std::string, std::string>> fMetadata; ///< Written beside the dataset by Close().
   std::uint64_t fNumEntries = 0;

   /// Adds a field to `model`, or a branch of leaf type `leafCode` to the TTree when `model` is null.
   template <typename T>
   void AddColumn(const RSavedColumn &column, RNTupleModel *model, char leafCode)
   {
      const auto width = column.fWidth;
      if (model != nullptr && width == 1) {
         auto value = model->MakeField<T>(column.fName);
         fCopies.push_back([value](const std::byte *from) { std::memcpy(value.get(), from, sizeof(T)); });
      } else if (model != nullptr) {
         auto values = model->MakeField<ROOT::RVec<T>>(column.fName);
         fCopies.push_back([values, width](const std::byte *from) {
            values->resize(width);
            std::memcpy(values->data(), from, width * sizeof(T));
         });
      } else if (width == 1) {
         auto value = std::make_shared<T>();
         if (!fTree->Branch(column.fName.c_str(), value.get(), (column.fName + "/" + leafCode).c_str()))
            throw std::runtime_error("RDatasetWriter: TTree cannot make a branch '" + column.fName + "'");
         fTreeBuffers.push_back(value);
         fCopies.push_back([value](const std::byte *from) { std::memcpy(value.get(), from, sizeof(T)); });
      } else {
         auto values = std::make_shared<std::vector<T>>(width);
         auto address = std::make_shared<std::vector<T> *>(values.get());
         if (!fTree->Branch(column.fName.c_str(), address.get()))
            throw std::runtime_error("RDatasetWriter: TTree has no dictionary for std::vector of column '" +
                                     column.fName + "'s type; save it as an RNTuple");
         fTreeBuffers.push_back(values);
         fTreeBuffers.push_back(address);
         fCopies.push_back([values, width](const std::byte *from) {
            if constexpr (std::is_same_v<T, bool>) // std::vector<bool> packs bits: no data() to copy into
               for (std::size_t i = 0; i < width; ++i)
                  (*values)[i] = static_cast<bool>(from[i]);
            else
               std::memcpy(values->data(), from, width * sizeof(T));
         });
      }
   }

   void AddTypedColumn(const RSavedColumn &column, RNTupleModel *model)
   {
      if (column.fWidth == 0)
         throw std::invalid_argument("RDatasetWriter: column '" + column.fName + "' has no values per entry");
      switch (column.fDType) {
      case EDType::kFloat32: return AddColumn<float>(column, model, 'F');
      case EDType::kFloat64: return AddColumn<double>(column, model, 'D');
      case EDType::kInt8: return AddColumn<std::int8_t>(column, model, 'B');
      case EDType::kInt16: return AddColumn<std::int16_t>(column, model, 'S');
      case EDType::kInt32: return AddColumn<std::int32_t>(column, model, 'I');
      case EDType::kInt64: return AddColumn<Long64_t>(column, model, 'L');
      case EDType::kUInt8: return AddColumn<std::uint8_t>(column, model, 'b');
      case EDType::kUInt16: return AddColumn<std::uint16_t>(column, model, 's');
      case EDType::kUInt32: return AddColumn<std::uint32_t>(column, model, 'i');
      case EDType::kUInt64: return AddColumn<ULong64_t>(column, model, 'l');
      case EDType::kBool: return AddColumn<bool>(column, model, 'O');
      }
   }

   void CheckOpen() const
   {
      if (!fFile)
         throw std::logic_error("RDatasetWriter: the dataset was closed; create a new writer to write another");
   }

public:
   /// Creates `path` (replacing a file of that name) holding an RNTuple or a TTree called `name`.
   RDatasetWriter(const std::string &path, const std::string &name, EDatasetFormat format,
                  std::vector<RSavedColumn> columns)
      : fColumns(std::move(columns))
   {
      if (fColumns.empty())
         throw std::invalid_argument("RDatasetWriter: no columns to write");
      fFile.reset(TFile::Open(path.c_str(), "RECREATE"));
      if (!fFile || fFile->IsZombie())
         throw std::runtime_error("RDatasetWriter: cannot create the file '" + path + "'");
      std::unique_ptr<RNTupleModel> model;
      if (format == EDatasetFormat::kRNTuple)
         model = RNTupleModel::Create();
      else
         fTree = new TTree(name.c_str(), "saved by ROOT::ML::RDatasetWriter", 99, fFile.get());
      for (const auto &column : fColumns)
         AddTypedColumn(column, model.get());
      if (model)
         fNTuple = RNTupleWriter::Append(std::move(model), name, *fFile);
   }
   RDatasetWriter(const RDatasetWriter &) = delete;
   RDatasetWriter &operator=(const RDatasetWriter &) = delete;
   ~RDatasetWriter()
   {
      try {
         Close();
      } catch (...) {
         // A destructor must not throw; Close() reports the same failure to callers that ask.
      }
   }

   /// Appends `rows` entries: the value(s) of column c in row r start at byte address
   /// `starts[c] + r * rowBytes[c]` (a row-major tensor's column: its first element and its row stride).
   void Fill(std::size_t rows, const std::vector<std::uintptr_t> &starts, const std::vector<std::size_t> &rowBytes)
   {
      CheckOpen();
      if (starts.size() != fColumns.size() || rowBytes.size() != fColumns.size())
         throw std::invalid_argument("RDatasetWriter: Fill needs an address and a row stride for each of the " +
                                     std::to_string(fColumns.size()) + " columns");
      for (std::size_t r = 0; r < rows; ++r) {
         for (std::size_t c = 0; c < fCopies.size(); ++c)
            fCopies[c](reinterpret_cast<const std::byte *>(starts[c] + r * rowBytes[c]));
         if (fNTuple)
            fNTuple->Fill();
         else
            fTree->Fill();
      }
      fNumEntries += rows;
   }

   /// Appends the entries of `batch`, whose blocks hold the columns in order (features, targets, weights).
   void Fill(const RBatch &batch)
   {
      std::vector<std::uintptr_t> starts;
      std::vector<std::size_t> rowBytes;
      std::size_t c = 0;
      const std::invalid_argument mismatch("RDatasetWriter: the batch's blocks do not hold the columns this writer "
                                           "was created with (object collections cannot be saved)");
      for (auto block : {EBlock::kFeatures, EBlock::kTargets, EBlock::kWeights}) {
         const auto &layout = batch.GetLayout(block);
         const auto size = GetDTypeSize(layout.fDType);
         for (std::size_t element = 0; element < layout.fWidth; element += fColumns[c++].fWidth) {
            if (c == fColumns.size() || fColumns[c].fDType != layout.fDType)
               throw mismatch;
            starts.push_back(batch.GetAddress(block) + element * size);
            rowBytes.push_back(layout.fWidth * size);
         }
      }
      if (batch.GetNumCollections() > 0 || c != fColumns.size())
         throw mismatch;
      Fill(batch.GetNumRows(), starts, rowBytes);
   }

   /// Stores `value` (a JSON document, say) in the file beside the dataset, as a TNamed called `key`.
   void SetMetadata(const std::string &key, const std::string &value)
   {
      CheckOpen();
      fMetadata.emplace_back(key, value);
   }

   /// Writes what is buffered and closes the file; the destructor does it too.
   void Close()
   {
      if (!fFile)
         return;
      fNTuple.reset();
      if (fTree != nullptr)
         fTree->Write();
      for (const auto &[key, value] : fMetadata) {
         TNamed named(key.c_str(), value.c_str());
         fFile->WriteTObject(&named, key.c_str(), "Overwrite");
      }
      fFile->Close();
      fFile.reset();
      fTree = nullptr;
   }

   std::uint64_t GetNumEntries() const { return fNumEntries; }
};

} // namespace ML
} // namespace ROOT

#endif
