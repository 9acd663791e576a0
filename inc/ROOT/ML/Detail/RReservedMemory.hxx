/// \file ROOT/ML/Detail/RReservedMemory.hxx
/// \brief Memory reserved for an upper bound of bytes, backed by physical pages only where it is written.

#ifndef ROOT_ML_Detail_RReservedMemory
#define ROOT_ML_Detail_RReservedMemory

#include <cstddef>
#include <new>
#include <utility>

#if __has_include(<sys/mman.h>)
#include <sys/mman.h>
#define ROOT_ML_HAS_MMAP 1
#endif

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief An address range of `bytes` bytes whose pages cost physical memory only once written.
///
/// A packed collection is written in place, object after object, before the batch knows how many
/// objects it will hold: reserving the upper bound (rows x maximum length) and letting the kernel back
/// only the pages touched keeps each value's single copy and costs the memory of the real objects
/// (rounded up to a page), not of the bound. Without mmap, the bound is allocated.
class RReservedMemory {
   std::byte *fData = nullptr;
   std::size_t fBytes = 0;

   void Release()
   {
      if (!fData)
         return;
#ifdef ROOT_ML_HAS_MMAP
      ::munmap(fData, fBytes);
#else
      ::operator delete[](fData);
#endif
      fData = nullptr;
   }

public:
   RReservedMemory() = default;
   explicit RReservedMemory(std::size_t bytes) : fBytes(bytes > 0 ? bytes : 1)
   {
#ifdef ROOT_ML_HAS_MMAP
      void *p = ::mmap(nullptr, fBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED)
         throw std::bad_alloc();
      fData = static_cast<std::byte *>(p);
#else
      fData = static_cast<std::byte *>(::operator new[](fBytes));
#endif
   }
   ~RReservedMemory() { Release(); }
   RReservedMemory(const RReservedMemory &) = delete;
   RReservedMemory &operator=(const RReservedMemory &) = delete;
   RReservedMemory(RReservedMemory &&other) noexcept
      : fData(std::exchange(other.fData, nullptr)), fBytes(std::exchange(other.fBytes, 0))
   {
   }
   RReservedMemory &operator=(RReservedMemory &&other) noexcept
   {
      if (this != &other) {
         Release();
         fData = std::exchange(other.fData, nullptr);
         fBytes = std::exchange(other.fBytes, 0);
      }
      return *this;
   }

   std::byte *GetData() const { return fData; }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#undef ROOT_ML_HAS_MMAP

#endif
