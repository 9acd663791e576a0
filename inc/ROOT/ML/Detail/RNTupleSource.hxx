/// \file ROOT/ML/Detail/RNTupleSource.hxx
/// \brief The source of RNTuple dataframes: fields read page by page with RNTupleReader, one per thread.

#ifndef ROOT_ML_Detail_RNTupleSource
#define ROOT_ML_Detail_RNTupleSource

#include "ROOT/ML/Detail/RSource.hxx"

#include <ROOT/RDataFrame.hxx>
#include <ROOT/RField.hxx>
#include <ROOT/RNTupleDS.hxx>
#include <ROOT/RNTupleDescriptor.hxx>
#include <ROOT/RNTupleReadOptions.hxx>
#include <ROOT/RNTupleReader.hxx>
#include <ROOT/RNTupleView.hxx>
#include <ROOT/RVersion.hxx>
#include <TDataType.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// RNTupleDS keeps the names of its RNTuple and files private, and RDataFrame offers no other way to them.
/// An explicit instantiation may name private members ([temp.explicit]); the friend function defined in it
/// hands out the member pointer. Limited to the ROOT versions whose RNTupleDS is known to hold these members:
/// with another, RNTuple dataframes are read by their event loop until this is checked again.
#if ROOT_VERSION_CODE >= ROOT_VERSION(6, 36, 0) && ROOT_VERSION_CODE < ROOT_VERSION(6, 41, 0)
#define ROOT_ML_RNTUPLE_SOURCE 1
template <typename Tag, typename Tag::Member_t Member>
struct RPrivateMember {
   friend typename Tag::Member_t GetMember(Tag) { return Member; }
};
struct RNTupleNameTag {
   using Member_t = std::string ROOT::RDF::RNTupleDS::*;
   friend Member_t GetMember(RNTupleNameTag);
};
struct RNTupleFilesTag {
   using Member_t = std::vector<std::string> ROOT::RDF::RNTupleDS::*;
   friend Member_t GetMember(RNTupleFilesTag);
};
template struct RPrivateMember<RNTupleNameTag, &ROOT::RDF::RNTupleDS::fNTupleName>;
template struct RPrivateMember<RNTupleFilesTag, &ROOT::RDF::RNTupleDS::fFileNames>;
#endif

/// Reads runs of values of one field of one cluster into memory.
class RFieldReader {
public:
   virtual ~RFieldReader() = default;
   /// Copies the values [first, first + n) of `first`'s cluster to `target`.
   virtual void Read(ROOT::RNTupleLocalIndex first, std::size_t n, std::byte *target) = 0;
};

/// Numbers of type T, copied a page at a time from the field's unpacked pages.
template <typename T>
class RNumberReader final : public RFieldReader {
   ROOT::RNTupleView<T> fView;

public:
   explicit RNumberReader(ROOT::RNTupleView<T> view) : fView(std::move(view)) {}
   void Read(ROOT::RNTupleLocalIndex first, std::size_t n, std::byte *target) final
   {
      // RNTupleView<T> reads through an RField<T>; MapV hands out a page's values where they lie.
      auto &field = const_cast<ROOT::RField<T> &>(static_cast<const ROOT::RField<T> &>(fView.GetField()));
      for (std::size_t done = 0; done < n;) {
         ROOT::NTupleSize_t inPage = 0;
         const T *page = field.MapV(ROOT::RNTupleLocalIndex(first.GetClusterId(), first.GetIndexInCluster() + done), inPage);
         const auto take = std::min<std::size_t>(n - done, inPage);
         std::memcpy(target + done * sizeof(T), page, take * sizeof(T));
         done += take;
      }
   }
};

/// Values that need the field's own reading (collection sizes, cardinalities), through RNTuple's bulk API.
template <typename T>
class RBulkReader final : public RFieldReader {
   ROOT::RNTupleView<T> fView;
   ROOT::RFieldBase::RBulkValues fBulk;

public:
   explicit RBulkReader(ROOT::RNTupleView<T> view) : fView(std::move(view)), fBulk(fView.CreateBulk()) {}
   void Read(ROOT::RNTupleLocalIndex first, std::size_t n, std::byte *target) final
   {
      if (n == 0)
         return;
      fBulk.AdoptBuffer(target, n);
      fBulk.ReadBulk(first, nullptr, n);
   }
};

/// How a dataframe column maps onto the fields of an RNTuple.
struct RFieldBinding {
   enum class EKind { kScalar, kCollection, kNone };
   EKind fKind = EKind::kNone;
   ROOT::DescriptorId_t fValues = ROOT::kInvalidDescriptorId;     ///< The plain field holding the numbers.
   ROOT::DescriptorId_t fCollection = ROOT::kInvalidDescriptorId; ///< The collection field (its offsets).
   std::string fType;                                             ///< Type name of the numbers on file.
   std::uint64_t fRepetitions = 0; ///< A std::array<T, N> field: N numbers per entry, no offsets.
};

/// Walks an RNTuple's fields as RNTupleDS names its columns: members of records joined by '.', the item field
/// of a collection skipped; a collection of numbers is an RVec column, a member of a collection of records too.
inline void BindFields(const ROOT::RNTupleDescriptor &descriptor, ROOT::DescriptorId_t id, const std::string &name,
                       ROOT::DescriptorId_t collection, bool nested, std::map<std::string, RFieldBinding> &bindings)
{
   using EKind = RFieldBinding::EKind;
   const auto &field = descriptor.GetFieldDescriptor(id);
   if (field.GetNRepetitions() > 0) {
      const auto &item = *descriptor.GetFieldIterable(id).begin();
      const bool plain = !nested && collection == ROOT::kInvalidDescriptorId &&
                         item.GetStructure() == ROOT::ENTupleStructure::kPlain;
      bindings[name] = {plain ? EKind::kCollection : EKind::kNone, item.GetId(), ROOT::kInvalidDescriptorId,
                        item.GetTypeName(), field.GetNRepetitions()};
      return;
   }
   switch (field.GetStructure()) {
   case ROOT::ENTupleStructure::kCollection: {
      // A collection inside a collection is a nested RVec: left to the event loop.
      const bool inner = nested || collection != ROOT::kInvalidDescriptorId;
      const auto &item = *descriptor.GetFieldIterable(id).begin();
      BindFields(descriptor, item.GetId(), name, inner ? ROOT::kInvalidDescriptorId : id, inner, bindings);
      return;
   }
   case ROOT::ENTupleStructure::kRecord:
      for (const auto &child : descriptor.GetFieldIterable(id))
         BindFields(descriptor, child.GetId(), name.empty() ? child.GetFieldName() : name + "." + child.GetFieldName(),
                    collection, nested, bindings);
      return;
   case ROOT::ENTupleStructure::kPlain:
      bindings[name] = {nested ? EKind::kNone
                               : (collection == ROOT::kInvalidDescriptorId ? EKind::kScalar : EKind::kCollection),
                        id, collection, field.GetTypeName(), 0};
      return;
   default: bindings[name] = {};
   }
}

inline std::map<std::string, RFieldBinding> BindFields(const ROOT::RNTupleDescriptor &descriptor)
{
   std::map<std::string, RFieldBinding> bindings;
   BindFields(descriptor, descriptor.GetFieldZeroId(), "", ROOT::kInvalidDescriptorId, false, bindings);
   return bindings;
}

/// RNTuple's type name of a number type, and a reader of a field of it.
struct RNumberType {
   EDataType fType;
   std::string fName;
   std::size_t fSize;
   std::unique_ptr<RFieldReader> (*fMakeReader)(ROOT::RNTupleReader &, ROOT::DescriptorId_t);
};

template <typename T, typename Stored = T>
RNumberType DescribeNumbers()
{
   return {TDataType::GetType(typeid(T)), ROOT::RField<Stored>::TypeName(), sizeof(T),
           [](ROOT::RNTupleReader &reader, ROOT::DescriptorId_t id) -> std::unique_ptr<RFieldReader> {
              if constexpr (std::is_same_v<T, Stored>)
                 return std::make_unique<RNumberReader<T>>(reader.GetView<T>(id));
              else
                 return std::make_unique<RBulkReader<Stored>>(reader.GetView<Stored>(id));
           }};
}

/// How numbers of `type` are read from a field whose type on file is `stored`, or nullptr. Besides plain
/// numbers, the collection sizes RNTupleImporter writes for NanoAOD's counters (`nMuon`, a cardinality).
inline const RNumberType *FindNumbers(EDataType type, const std::string &stored)
{
   static const std::vector<RNumberType> types{
      DescribeNumbers<bool>(),         DescribeNumbers<char>(),           DescribeNumbers<signed char>(),
      DescribeNumbers<unsigned char>(),
      DescribeNumbers<short>(),        DescribeNumbers<unsigned short>(), DescribeNumbers<int>(),
      DescribeNumbers<unsigned int>(), DescribeNumbers<long long>(),      DescribeNumbers<unsigned long long>(),
      DescribeNumbers<float>(),        DescribeNumbers<double>(),
      DescribeNumbers<std::uint32_t, ROOT::RNTupleCardinality<std::uint32_t>>(),
      DescribeNumbers<std::uint64_t, ROOT::RNTupleCardinality<std::uint64_t>>()};
   for (const auto &t : types)
      if (SameNumbers(t.fType, type) && t.fName == stored)
         return &t;
   return nullptr;
}

/// \brief The fields of an RNTuple dataframe that hold its loaded columns: the source of readers that read
/// them page by page (numbers, std::vector and RVec fields, std::array fields, the members of record
/// collections as RNTupleImporter writes NanoAOD, and collection sizes).
///
/// Each reader reads with an RNTupleReader of its own, whose own multi-threaded decompression is turned off
/// (it would decompress every column of a cluster the reader knows of, on the same cores). A range lies
/// within one cluster: the loader's reading units are clusters.
template <typename Node = ROOT::RDF::RNode>
class RNTupleSource final : public RFileSource {
   struct RColumn {
      RFieldBinding fBinding;
      const RNumberType *fNumbers = nullptr;
   };
   struct RCluster {
      std::size_t fFile;
      ROOT::DescriptorId_t fId;
      std::uint64_t fFirstEntry; ///< In the dataframe's numbering.
      std::uint64_t fEntries;
   };

   std::string fNTupleName;
   std::vector<std::string> fFiles;
   std::vector<std::string> fColumnNames;
   std::vector<RColumn> fColumns;   ///< Per loaded column.
   std::vector<RCluster> fClusters; ///< In entry order.
   std::uint64_t fEntries = 0;
   ROOT::RNTupleReadOptions fReadOptions;

   /// Reads the fields of one file at a time, with an RNTupleReader of its own per thread of a read.
   class RReader final : public RFileReader {
      /// One thread's reader of one file, with the process that opened it, and its field readers: only of the
      /// columns the thread has read, since a reader loads the pages of every field it has a view of.
      struct RHandle {
         std::unique_ptr<ROOT::RNTupleReader> fReader;
         std::size_t fFile = static_cast<std::size_t>(-1);
         pid_t fProcess = 0;
         std::map<std::string, RFieldBinding> fBindings;     ///< Of this file's fields.
         std::vector<std::unique_ptr<RFieldReader>> fValues; ///< Per column, once bound.
         std::vector<std::unique_ptr<RFieldReader>> fSizes;  ///< Per collection column, once bound.
         std::vector<std::unique_ptr<ROOT::RNTupleCollectionView>> fCollections;
      };
      const RNTupleSource &fSource;
      std::vector<RHandle> fHandles;                       ///< Per thread.
      std::vector<std::vector<std::uint64_t>> fEntrySizes; ///< Per column, scratch: its entries' sizes.

      RHandle &Open(std::size_t thread, std::size_t file)
      {
         auto &handle = fHandles[thread];
         if (handle.fFile == file && handle.fProcess == ::getpid())
            return handle;
         Close(handle);
         handle.fReader = ROOT::RNTupleReader::Open(fSource.fNTupleName, fSource.fFiles[file], fSource.fReadOptions);
         handle.fFile = file;
         handle.fProcess = ::getpid();
         handle.fValues.resize(fChunks.size());
         handle.fSizes.resize(fChunks.size());
         handle.fCollections.resize(fChunks.size());
         // The fields' ids may differ from file to file: bind them again.
         handle.fBindings = BindFields(handle.fReader->GetDescriptor());
         return handle;
      }

      /// Gives `handle` the field readers of column `c`, if it has none yet.
      void Bind(RHandle &handle, std::size_t c) const
      {
         if (handle.fValues[c])
            return;
         const auto &binding = handle.fBindings.at(fSource.fColumnNames[c]);
         handle.fValues[c] = fSource.fColumns[c].fNumbers->fMakeReader(*handle.fReader, binding.fValues);
         if (binding.fCollection == ROOT::kInvalidDescriptorId)
            return;
         handle.fSizes[c] = std::make_unique<RBulkReader<ROOT::RNTupleCardinality<std::uint64_t>>>(
            handle.fReader->template GetView<ROOT::RNTupleCardinality<std::uint64_t>>(binding.fCollection));
         handle.fCollections[c] =
            std::make_unique<ROOT::RNTupleCollectionView>(handle.fReader->GetCollectionView(binding.fCollection));
      }

      /// Drops a handle's reader: its views first, since they read through it. A reader opened by the
      /// process this one was forked from is left alone: its I/O thread exists only there.
      static void Close(RHandle &handle)
      {
         if (handle.fReader && handle.fProcess != ::getpid()) {
            for (auto &views : {&handle.fValues, &handle.fSizes})
               for (auto &view : *views)
                  view.release();
            for (auto &view : handle.fCollections)
               view.release();
            handle.fReader.release();
         }
         handle.fCollections.clear();
         handle.fSizes.clear();
         handle.fValues.clear();
         handle.fReader.reset();
      }

      /// Reads entries [first, first + n) of `cluster` of column `c` into its chunk.
      void ReadColumn(RHandle &handle, const RCluster &cluster, std::uint64_t first, std::uint64_t n, std::size_t c)
      {
         auto &chunk = fChunks[c];
         const auto &column = fSource.fColumns[c];
         const auto size = column.fNumbers->fSize;
         const ROOT::RNTupleLocalIndex start(cluster.fId, first);
         const bool collection = column.fBinding.fKind == RFieldBinding::EKind::kCollection;
         chunk.Clear(collection, size);
         if (!collection) {
            handle.fValues[c]->Read(start, n, chunk.Extend(n * size));
            return;
         }
         const auto repetitions = column.fBinding.fRepetitions;
         std::uint64_t items = 0, firstItem = first * repetitions;
         if (repetitions > 0) {
            for (std::uint64_t i = 0; i < n; ++i)
               chunk.EndEntry(items += repetitions);
         } else {
            auto &sizes = fEntrySizes[c];
            sizes.resize(n);
            handle.fSizes[c]->Read(start, n, reinterpret_cast<std::byte *>(sizes.data()));
            for (auto entrySize : sizes)
               chunk.EndEntry(items += entrySize);
            firstItem = (*handle.fCollections[c]->GetCollectionRange(start).begin()).GetIndexInCluster();
         }
         handle.fValues[c]->Read(ROOT::RNTupleLocalIndex(cluster.fId, firstItem), items, chunk.Extend(items * size));
      }

      void ReadEntries(std::uint64_t begin, std::uint64_t end) final
      {
         const auto &clusters = fSource.fClusters;
         const auto cluster = std::upper_bound(clusters.begin(), clusters.end(), begin,
                                               [](std::uint64_t e, const RCluster &c) { return e < c.fFirstEntry; }) -
                              1;
         if (end > cluster->fFirstEntry + cluster->fEntries)
            throw std::logic_error("ROOT::ML::RDataLoader: a reading unit spans two RNTuple clusters");
         // Readers are opened and bound on this thread: RNTupleReader::Open and the creation of views are not
         // known to be safe to call concurrently.
         const auto threads = GetThreadsFor(end - begin);
         for (std::size_t t = 0; t < threads; ++t)
            Open(t, cluster->fFile);
         for (std::size_t c = 0; c < fChunks.size(); ++c)
            Bind(fHandles[ThreadOf(c, threads)], c);
         ForEachColumn(end - begin, [&](std::size_t thread, std::size_t c) {
            ReadColumn(fHandles[thread], *cluster, begin - cluster->fFirstEntry, end - begin, c);
         });
      }

   public:
      explicit RReader(const RNTupleSource &source)
         : RFileReader(source.fColumns.size(), source.fEntryBytes),
           fSource(source),
           fHandles(1),
           fEntrySizes(source.fColumns.size())
      {
      }
      ~RReader() final
      {
         for (auto &handle : fHandles)
            Close(handle);
      }
      void SetThreads(std::size_t threads) final
      {
         RFileReader::SetThreads(threads);
         for (std::size_t t = fThreads; t < fHandles.size(); ++t)
            Close(fHandles[t]);
         fHandles.resize(fThreads);
      }
   };

   RNTupleSource() { fReadOptions.SetUseImplicitMT(ROOT::RNTupleReadOptions::EImplicitMT::kOff); }

   /// Binds every column to the fields of `descriptor`; returns why not, or an empty string.
   std::string Bind(const ROOT::RNTupleDescriptor &descriptor, const std::vector<RColumnNumbers> &numbers)
   {
      const auto bindings = BindFields(descriptor);
      std::vector<RColumn> bound;
      for (std::size_t c = 0; c < fColumnNames.size(); ++c) {
         const auto &name = fColumnNames[c];
         const auto found = bindings.find(name);
         if (found == bindings.end())
            return "column '" + name + "' is not a field";
         RColumn column{found->second, FindNumbers(numbers[c].fType, found->second.fType)};
         const bool vector = column.fBinding.fKind == RFieldBinding::EKind::kCollection;
         if (column.fBinding.fKind == RFieldBinding::EKind::kNone || !column.fNumbers || vector != numbers[c].fIsVector)
            return "column '" + name + "' is a field of type " + column.fBinding.fType;
         if (!fColumns.empty() && (column.fBinding.fKind != fColumns[c].fBinding.fKind ||
                                   column.fBinding.fRepetitions != fColumns[c].fBinding.fRepetitions ||
                                   column.fBinding.fType != fColumns[c].fBinding.fType))
            return "column '" + name + "' is stored differently in another file";
         bound.push_back(column);
      }
      fColumns = std::move(bound);
      return "";
   }

   /// Decoded bytes of the loaded columns in the whole RNTuple: its numbers, and the offsets of collections.
   std::uint64_t CountBytes(const ROOT::RNTupleDescriptor &descriptor) const
   {
      const auto bindings = BindFields(descriptor);
      std::uint64_t bytes = 0;
      for (std::size_t c = 0; c < fColumns.size(); ++c) {
         const auto &binding = bindings.at(fColumnNames[c]);
         const auto column = descriptor.FindPhysicalColumnId(binding.fValues, 0, 0);
         const auto elements =
            column == ROOT::kInvalidDescriptorId ? descriptor.GetNEntries() : descriptor.GetNElements(column);
         bytes += elements * fColumns[c].fNumbers->fSize;
         if (binding.fKind == RFieldBinding::EKind::kCollection)
            bytes += descriptor.GetNEntries() * sizeof(std::uint64_t);
      }
      return bytes;
   }

public:
   /// The source of `node`'s stored `columns` (the loader leaves Defines to the event loop), or nullptr (with
   /// the reason in `whyNot`) when they cannot all be read from fields: the dataframe is not an RNTuple, or a
   /// column is a nested collection, an object, or of a type that differs from the field's.
   static std::unique_ptr<RNTupleSource> Create(Node node, const std::vector<std::string> &columns,
                                                const std::vector<RColumnNumbers> &numbers, std::string &whyNot)
   {
#ifndef ROOT_ML_RNTUPLE_SOURCE
      whyNot = "this ROOT version's RNTupleDS is not known to the loader";
      return nullptr;
#else
      auto *dataSource = dynamic_cast<ROOT::RDF::RNTupleDS *>(RDataSourceAccess::Get(node));
      if (!dataSource) {
         whyNot = "the dataframe is not an RNTuple";
         return nullptr;
      }
      std::unique_ptr<RNTupleSource> source(new RNTupleSource);
      source->fNTupleName = dataSource->*GetMember(RNTupleNameTag{});
      source->fFiles = dataSource->*GetMember(RNTupleFilesTag{});
      source->fColumnNames = columns;
      // Local files are read a page at a time, as the reads ask (the system's page cache makes small reads
      // cheap): RNTuple's cluster prefetcher would hold a whole cluster of every column read per reader, and
      // with it 65-230 MiB more memory on the benchmark's files, for no speed. Remote files keep it: it bundles
      // the requests of a cluster into one.
      const auto &files = source->fFiles;
      if (std::none_of(files.begin(), files.end(), [](const std::string &f) { return f.find("://") != f.npos; }))
         source->fReadOptions.SetClusterCache(ROOT::RNTupleReadOptions::EClusterCache::kOff);
      for (std::size_t f = 0; f < source->fFiles.size(); ++f) {
         std::unique_ptr<ROOT::RNTupleReader> reader;
         try {
            reader = ROOT::RNTupleReader::Open(source->fNTupleName, source->fFiles[f], source->fReadOptions);
         } catch (const std::exception &error) {
            whyNot = std::string("file ") + source->fFiles[f] + " cannot be opened: " + error.what();
            return nullptr;
         }
         const auto &descriptor = reader->GetDescriptor();
         whyNot = source->Bind(descriptor, numbers);
         if (!whyNot.empty())
            return nullptr;
         std::vector<RCluster> clusters;
         for (const auto &cluster : descriptor.GetClusterIterable())
            clusters.push_back({f, cluster.GetId(), source->fEntries + cluster.GetFirstEntryIndex(), cluster.GetNEntries()});
         std::sort(clusters.begin(), clusters.end(),
                   [](const RCluster &a, const RCluster &b) { return a.fFirstEntry < b.fFirstEntry; });
         source->fClusters.insert(source->fClusters.end(), clusters.begin(), clusters.end());
         if (f == 0 && reader->GetNEntries() > 0)
            source->fEntryBytes = std::max<std::uint64_t>(1, source->CountBytes(descriptor) / reader->GetNEntries());
         // A reader holds, per column, the pages it reads from: RNTuple's pages are about a MiB at most.
         source->fReaderBytes = columns.size() << 20;
         source->fEntries += reader->GetNEntries();
      }
      if (source->fFiles.empty()) {
         whyNot = "the RNTuple has no files";
         return nullptr;
      }
      return source;
#endif
   }

   std::unique_ptr<RFileReader> MakeFileReader() const final { return std::make_unique<RReader>(*this); }
   std::uint64_t GetNumEntries() const final { return fEntries; }
   const char *GetName() const final { return "RNTuple pages"; }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
