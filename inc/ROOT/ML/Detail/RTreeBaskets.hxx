/// \file ROOT/ML/Detail/RTreeBaskets.hxx
/// \brief TTree branches read straight from their baskets: which branches can be, where their baskets lie,
/// and how a basket's bytes become a column's numbers.

#ifndef ROOT_ML_Detail_RTreeBaskets
#define ROOT_ML_Detail_RTreeBaskets

#include "ROOT/ML/Detail/RColumnChunk.hxx"

#include <ROOT/RVec.hxx>
#include <ROOT/TIOFeatures.hxx>
#include <RZip.h>
#include <TBasket.h>
#include <TBranch.h>
#include <TBranchElement.h>
#include <TBuffer.h>
#include <TClass.h>
#include <TDataType.h>
#include <TFile.h>
#include <TLeaf.h>
#include <TLeafC.h>
#include <TROOT.h>
#include <TVirtualCollectionProxy.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// How the entries of a branch are laid out in its baskets.
enum class EBranchLayout {
   kScalar,    ///< One value per entry, back to back.
   kLeafArray, ///< `x[n]/T` with a counter branch (CMS NanoAOD): each entry is its n values, found by offsets.
   kVector,    ///< An unsplit std::vector<T> or RVec<T>: each entry a 10-byte header and its n values.
   kNone       ///< Not readable from baskets: read by the event loop.
};

/// A branch as the basket reader sees it: its layout and the type of its numbers.
struct RBranchFormat {
   EBranchLayout fLayout = EBranchLayout::kNone;
   std::uint32_t fElementSize = 0;
   std::string fWhyNot; ///< For kNone: why the branch is left to the event loop.
};

/// Bytes of a number of type `t` as stored on file; 0 for types stored otherwise (Float16_t, Double32_t, ...).
inline std::uint32_t StoredSize(EDataType t)
{
   switch (t) {
   case kBool_t:
   case kChar_t:
   case kUChar_t: return 1;
   case kShort_t:
   case kUShort_t: return 2;
   case kInt_t:
   case kUInt_t:
   case kFloat_t: return 4;
   case kLong_t:
   case kULong_t:
   case kLong64_t:
   case kULong64_t:
   case kDouble_t: return 8;
   default: return 0;
   }
}

inline RBranchFormat NotFromBaskets(std::string why)
{
   RBranchFormat format;
   format.fWhyNot = std::move(why);
   return format;
}

/// How `branch` can be read from its baskets as a column of `numbers`. Called on the thread that creates the
/// loader (TClass lookups are not thread-safe).
inline RBranchFormat ClassifyBranch(TBranch *branch, RColumnNumbers numbers)
{
   if (!branch)
      return NotFromBaskets("not a branch (a Define, an alias or a friend's column)");
   if (branch->GetFileName() && branch->GetFileName()[0])
      return NotFromBaskets("its baskets are in another file");
   RBranchFormat format;
   if (branch->IsA() == TBranch::Class()) {
      if (branch->GetListOfLeaves()->GetEntriesFast() != 1)
         return NotFromBaskets("a leaf list of several leaves");
      auto *leaf = static_cast<TLeaf *>(branch->GetListOfLeaves()->At(0));
      if (leaf->IsA() == TLeafC::Class())
         return NotFromBaskets("a string leaf");
      auto *type = gROOT->GetType(leaf->GetTypeName());
      const auto stored = type ? static_cast<EDataType>(type->GetType()) : kOther_t;
      // Float16_t and Double32_t are floats on file but not in memory: their leaves say so in their size.
      if (StoredSize(stored) == 0 || static_cast<Int_t>(StoredSize(stored)) != leaf->GetLenType())
         return NotFromBaskets(std::string("numbers of type ") + leaf->GetTypeName());
      if (!SameNumbers(stored, numbers.fType))
         return NotFromBaskets("the column's type differs from the leaf's");
      if (leaf->GetLenStatic() != 1)
         return NotFromBaskets("a fixed-size array");
      format.fElementSize = StoredSize(stored);
      if (!leaf->GetLeafCount()) {
         format.fLayout = numbers.fIsVector ? EBranchLayout::kNone : EBranchLayout::kScalar;
         return format.fLayout == EBranchLayout::kNone ? NotFromBaskets("a scalar read as a vector") : format;
      }
      if (!numbers.fIsVector)
         return NotFromBaskets("an array read as a scalar");
      // Without stored entry offsets the lengths would have to come from the counter branch.
      if (branch->GetEntryOffsetLen() <= 0 ||
          branch->GetIOFeatures().Test(ROOT::Experimental::EIOFeatures::kGenerateOffsetMap))
         return NotFromBaskets("an array whose entry offsets are not stored");
      format.fLayout = EBranchLayout::kLeafArray;
      return format;
   }
   if (branch->IsA() != TBranchElement::Class())
      return NotFromBaskets(std::string("a branch of class ") + branch->IsA()->GetName());
   auto *element = static_cast<TBranchElement *>(branch);
   if (element->GetListOfBranches()->GetEntriesFast() != 0 || element->GetType() != 0 ||
       element->GetStreamerType() != -1 || element->GetID() >= 0)
      return NotFromBaskets("an object branch that is split or a member");
   TClass *cls = TClass::GetClass(element->GetClassName());
   TVirtualCollectionProxy *proxy = cls ? cls->GetCollectionProxy() : nullptr;
   if (!proxy || (proxy->GetCollectionType() != ROOT::kSTLvector && proxy->GetCollectionType() != ROOT::kROOTRVec) ||
       proxy->GetValueClass())
      return NotFromBaskets(std::string("of class ") + element->GetClassName());
   const auto stored = static_cast<EDataType>(proxy->GetType());
   if (StoredSize(stored) == 0 || !numbers.fIsVector || !SameNumbers(stored, numbers.fType))
      return NotFromBaskets("the column's type differs from the vector's");
   if (branch->GetEntryOffsetLen() <= 0)
      return NotFromBaskets("a vector branch without entry offsets");
   format.fLayout = EBranchLayout::kVector;
   format.fElementSize = StoredSize(stored);
   return format;
}

/// A basket's entries, decompressed: entry i lies in bytes [GetBegin(i), GetBegin(i + 1)) of GetData(),
/// counted from the start of the basket's key as ROOT's entry offsets are.
struct RBasketBytes {
   const unsigned char *fData = nullptr;
   const std::int32_t *fOffsets = nullptr; ///< Entries + 1 positions; null for entries of fixed size.
   std::int32_t fKeyLength = 0;
   std::int32_t fEntries = 0;
   std::int32_t fEntrySize = 0; ///< Bytes per entry when there are no offsets.

   std::int32_t GetBegin(std::int32_t i) const { return fOffsets ? fOffsets[i] : fKeyLength + i * fEntrySize; }
};

/// \brief Where the baskets of one branch of one file lie, copied from its TBranch when the loader is created,
/// so that reading needs a file handle only. A basket kept in the TTree header (by files closed after
/// TTree::AutoSave) is copied too.
struct RBranchBaskets {
   std::string fName;
   std::vector<Long64_t> fSeeks;
   std::vector<Int_t> fBytes;
   std::vector<Long64_t> fFirstEntries; ///< Of each basket, then the branch's entries.
   std::vector<unsigned char> fHeaderBasket; ///< The basket in the TTree header, if any (then the last one).
   std::vector<std::int32_t> fHeaderOffsets;
   std::int32_t fHeaderKeyLength = 0;
   std::int32_t fHeaderEntries = 0;

   RBranchBaskets() = default;
   explicit RBranchBaskets(TBranch &branch) : fName(branch.GetName())
   {
      const Int_t onFile = branch.GetWriteBasket();
      for (Int_t basket = 0; basket < onFile; ++basket)
         fSeeks.push_back(branch.GetBasketSeek(basket));
      fBytes.assign(branch.GetBasketBytes(), branch.GetBasketBytes() + onFile);
      fFirstEntries.assign(branch.GetBasketEntry(), branch.GetBasketEntry() + onFile);
      if (branch.GetBasketEntry()[onFile] < branch.GetEntries())
         CopyHeaderBasket(branch, onFile);
      fFirstEntries.push_back(branch.GetEntries());
   }

   std::size_t GetNumBaskets() const { return fFirstEntries.size() - 1; }
   bool IsInHeader(std::size_t basket) const { return basket >= fSeeks.size(); }

private:
   void CopyHeaderBasket(TBranch &branch, Int_t index)
   {
      auto *basket = static_cast<TBasket *>(branch.GetListOfBaskets()->At(index));
      if (!basket || !basket->GetBufferRef())
         throw std::runtime_error("ROOT::ML::RDataLoader: the last entries of branch '" + fName +
                                  "' are in neither a basket on file nor the TTree header");
      fFirstEntries.push_back(branch.GetBasketEntry()[index]);
      const auto *data = reinterpret_cast<const unsigned char *>(basket->GetBufferRef()->Buffer());
      fHeaderBasket.assign(data, data + basket->GetLast());
      fHeaderKeyLength = basket->GetKeylen();
      fHeaderEntries = basket->GetNevBuf();
      if (const Int_t *offsets = basket->GetEntryOffset()) {
         fHeaderOffsets.assign(offsets, offsets + basket->GetNevBuf());
         fHeaderOffsets.push_back(basket->GetLast());
      }
   }

public:
   /// The header basket's bytes, valid while this object lives.
   RBasketBytes GetHeaderBytes(std::int32_t entrySize) const
   {
      return {fHeaderBasket.data(), fHeaderOffsets.empty() ? nullptr : fHeaderOffsets.data(), fHeaderKeyLength,
              fHeaderEntries, entrySize};
   }
};

/// Reads big-endian integers of a basket's key.
inline std::uint32_t ReadBigEndian32(const unsigned char *p)
{
   return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
inline std::uint16_t ReadBigEndian16(const unsigned char *p)
{
   return static_cast<std::uint16_t>(std::uint16_t(p[0]) << 8 | p[1]);
}

/// Copies `n` big-endian numbers of `size` bytes from `src` to `dst` in host order.
inline void CopyToHostOrder(std::byte *dst, const unsigned char *src, std::size_t n, std::uint32_t size)
{
   if constexpr (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) {
      std::memcpy(dst, src, n * size);
      return;
   }
   auto swap = [&](auto word, auto reverse) {
      using Word_t = decltype(word);
      for (std::size_t i = 0; i < n; ++i) {
         std::memcpy(&word, src + i * sizeof(Word_t), sizeof(Word_t));
         word = reverse(word);
         std::memcpy(dst + i * sizeof(Word_t), &word, sizeof(Word_t));
      }
   };
   switch (size) {
   case 1: std::memcpy(dst, src, n); break;
   case 2: swap(std::uint16_t{}, [](std::uint16_t w) { return __builtin_bswap16(w); }); break;
   case 4: swap(std::uint32_t{}, [](std::uint32_t w) { return __builtin_bswap32(w); }); break;
   case 8: swap(std::uint64_t{}, [](std::uint64_t w) { return __builtin_bswap64(w); }); break;
   }
}

/// \brief Reads and decompresses the baskets of one branch into buffers of its own, reused from basket to
/// basket; the basket read last is kept, since the next range usually starts inside it. One per column and
/// reading thread.
class RBasketLoader {
public:
   /// The most compressed bytes kept from one basket to the next. ROOT enlarges the baskets after a tree's first
   /// cluster (one basket per cluster and column is common), and a buffer sized for such a basket, kept in every
   /// column of every stream, held about 40 % of a NanoAOD reader's memory for the rare read that needs it.
   static constexpr std::size_t kKeptCompressedBytes = 1 << 20;

private:
   std::vector<unsigned char> fCompressed;
   std::vector<unsigned char> fRaw;
   std::vector<std::int32_t> fOffsets;
   RBasketBytes fBytes;
   const RBranchBaskets *fBranch = nullptr;
   std::size_t fBasket = 0;

   [[noreturn]] void Fail(const std::string &what) const
   {
      throw std::runtime_error("ROOT::ML::RDataLoader: basket " + std::to_string(fBasket) + " of branch '" +
                               fBranch->fName + "': " + what);
   }

   /// Moves `position` past a string of a key: a byte of length, or 255 and four bytes of length.
   static bool SkipString(const unsigned char *key, std::int32_t size, std::int32_t &position)
   {
      if (position >= size)
         return false;
      std::uint32_t length = key[position++];
      if (length == 255) {
         if (position + 4 > size)
            return false;
         length = ReadBigEndian32(key + position);
         position += 4;
      }
      position += static_cast<std::int32_t>(length);
      return position <= size;
   }

   void Decompress(const unsigned char *source, std::int32_t compressed, unsigned char *target, std::int32_t size)
   {
      // Chunks of at most 16 MiB, each with a 9-byte header that R__unzip reads (any of ROOT's algorithms).
      const unsigned char *end = source + compressed;
      for (std::int32_t done = 0; done < size;) {
         int sourceSize = 0, targetSize = 0, produced = 0;
         if (end - source < 9 || R__unzip_header(&sourceSize, const_cast<unsigned char *>(source), &targetSize) != 0 ||
             sourceSize > end - source || targetSize > size - done)
            Fail("its compressed data are damaged");
         R__unzip(&sourceSize, const_cast<unsigned char *>(source), &targetSize, target + done, &produced);
         if (produced != targetSize)
            Fail("its data could not be decompressed");
         source += sourceSize;
         done += produced;
      }
   }

   void LoadFromFile(TFile &file, std::int32_t entrySize)
   {
      const auto bytes = fBranch->fBytes[fBasket];
      fCompressed.resize(static_cast<std::size_t>(bytes));
      if (bytes < 26 || file.ReadBuffer(reinterpret_cast<char *>(fCompressed.data()), fBranch->fSeeks[fBasket], bytes))
         Fail("it cannot be read from " + std::string(file.GetName()));
      // The key: Nbytes, Version, ObjLen, Datime, KeyLen, Cycle, SeekKey and SeekPdir (8 bytes each from
      // version 1001 on), then the class name, name and title.
      const unsigned char *key = fCompressed.data();
      const auto objectLength = static_cast<std::int32_t>(ReadBigEndian32(key + 6));
      const auto keyLength = static_cast<std::int32_t>(ReadBigEndian16(key + 14));
      std::int32_t position = ReadBigEndian16(key + 4) > 1000 ? 34 : 26;
      if (static_cast<std::int32_t>(ReadBigEndian32(key)) != bytes || key[position] != 7 ||
          std::memcmp(key + position + 1, "TBasket", 7) != 0 || !SkipString(key, keyLength, position) ||
          !SkipString(key, keyLength, position) || !SkipString(key, keyLength, position))
         Fail("it is not where the tree says (is the file damaged?)");
      // The basket's own fields: version, buffer size, NevBufSize (negative when an IO-bits byte follows),
      // NevBuf, Last, and a flag.
      if (position + 19 > keyLength)
         Fail("its header is truncated");
      std::uint8_t ioBits = 0;
      if (static_cast<std::int32_t>(ReadBigEndian32(key + position + 6)) < 0)
         ioBits = key[position++ + 10];
      const auto entries = static_cast<std::int32_t>(ReadBigEndian32(key + position + 10));
      const auto last = static_cast<std::int32_t>(ReadBigEndian32(key + position + 14));
      if (position + 19 != keyLength || ioBits != 0 || last < keyLength || last > keyLength + objectLength)
         Fail("its header has an unknown layout");

      fRaw.resize(static_cast<std::size_t>(keyLength + objectLength));
      if (objectLength == bytes - keyLength)
         std::memcpy(fRaw.data() + keyLength, key + keyLength, static_cast<std::size_t>(objectLength));
      else
         Decompress(key + keyLength, bytes - keyLength, fRaw.data() + keyLength, objectLength);
      if (fCompressed.capacity() > kKeptCompressedBytes)
         std::vector<unsigned char>().swap(fCompressed);
      fBytes = RBasketBytes{fRaw.data(), nullptr, keyLength, entries, entrySize};
      if (entrySize > 0) {
         if (last - keyLength != entries * entrySize)
            Fail("its entries do not fill it");
         return;
      }
      // The entry offsets follow the entries: their count, then one big-endian position per entry.
      const auto count = last + 4 <= keyLength + objectLength ? static_cast<std::int32_t>(ReadBigEndian32(fRaw.data() + last)) : -1;
      if (count < entries || last + 4 + 4LL * count > keyLength + objectLength)
         Fail("its entry offsets are damaged");
      fOffsets.resize(static_cast<std::size_t>(entries) + 1);
      for (std::int32_t i = 0; i < entries; ++i)
         fOffsets[i] = static_cast<std::int32_t>(ReadBigEndian32(fRaw.data() + last + 4 + 4 * i));
      fOffsets[entries] = last;
      for (std::int32_t i = 0; i < entries; ++i)
         if (fOffsets[i] < keyLength || fOffsets[i] > fOffsets[i + 1])
            Fail("its entry offsets are out of order");
      fBytes.fOffsets = fOffsets.data();
   }

public:
   /// Bytes its buffers hold: the basket read last, decompressed, and a compressed one only if it was small.
   std::size_t GetHeldBytes() const
   {
      return fCompressed.capacity() + fRaw.capacity() + fOffsets.capacity() * sizeof(std::int32_t);
   }

   /// Basket `basket` of `branch`, decompressed; `entrySize` bytes per entry, or 0 for entries found by offsets.
   const RBasketBytes &Load(TFile &file, const RBranchBaskets &branch, std::size_t basket, std::int32_t entrySize)
   {
      if (fBranch == &branch && fBasket == basket && fBytes.fData)
         return fBytes;
      fBranch = &branch;
      fBasket = basket;
      fBytes.fData = nullptr;
      if (branch.IsInHeader(basket))
         fBytes = branch.GetHeaderBytes(entrySize);
      else
         LoadFromFile(file, entrySize);
      const auto expected = branch.fFirstEntries[basket + 1] - branch.fFirstEntries[basket];
      if (fBytes.fEntries != expected) {
         fBytes.fData = nullptr;
         Fail("it holds " + std::to_string(fBytes.fEntries) + " entries where the tree says " + std::to_string(expected));
      }
      return fBytes;
   }
};

/// Appends the entries [begin, end) of a branch (in its file's numbering) to `chunk`, in host byte order.
inline void ReadBranch(TFile &file, const RBranchBaskets &branch, const RBranchFormat &format, Long64_t begin,
                       Long64_t end, RBasketLoader &loader, RColumnChunk &chunk)
{
   std::uint64_t elements = 0;
   const auto &firsts = branch.fFirstEntries;
   const std::uint32_t size = format.fElementSize;
   const bool scalar = format.fLayout == EBranchLayout::kScalar;
   auto basket = static_cast<std::size_t>(std::upper_bound(firsts.begin(), firsts.end() - 1, begin) - firsts.begin()) - 1;
   for (; basket < branch.GetNumBaskets() && firsts[basket] < end; ++basket) {
      const auto &bytes = loader.Load(file, branch, basket, scalar ? static_cast<std::int32_t>(size) : 0);
      const auto from = static_cast<std::int32_t>(std::max(begin, firsts[basket]) - firsts[basket]);
      const auto to = static_cast<std::int32_t>(std::min(end, firsts[basket + 1]) - firsts[basket]);
      if (format.fLayout != EBranchLayout::kVector) {
         // The numbers of consecutive entries are adjacent: one conversion for the whole run.
         const auto first = bytes.GetBegin(from);
         const auto count = static_cast<std::size_t>(bytes.GetBegin(to) - first) / size;
         CopyToHostOrder(chunk.Extend(count * size), bytes.fData + first, count, size);
         for (std::int32_t i = from; !scalar && i < to; ++i) {
            elements += static_cast<std::uint64_t>(bytes.GetBegin(i + 1) - bytes.GetBegin(i)) / size;
            chunk.EndEntry(elements);
         }
         continue;
      }
      // Each entry: a byte count (with bit 30 set), a version, the number of elements, the elements.
      for (std::int32_t i = from; i < to; ++i) {
         const unsigned char *entry = bytes.fData + bytes.GetBegin(i);
         const auto length = bytes.GetBegin(i + 1) - bytes.GetBegin(i);
         const auto count = length >= 10 ? ReadBigEndian32(entry) : 0u;
         const auto n = length >= 10 ? ReadBigEndian32(entry + 6) : 0u;
         if (!(count & 0x40000000u) || (count & ~0x40000000u) != std::uint32_t(length - 4) ||
             (ReadBigEndian16(entry + 4) & 0x4000u) || std::uint64_t(n) * size != std::uint64_t(length - 10))
            throw std::runtime_error("ROOT::ML::RDataLoader: entry " + std::to_string(firsts[basket] + i) +
                                     " of branch '" + branch.fName + "' is not a vector as expected");
         CopyToHostOrder(chunk.Extend(std::size_t(n) * size), entry + 10, n, size);
         elements += n;
         chunk.EndEntry(elements);
      }
   }
}

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
