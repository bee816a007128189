! SPDX-License-Identifier: BSD-3-Clause
!
! Fortran interface to aml's fast memory (aml/fast.h) and the topology
! queries a placement check needs (aml/topology.h), through ISO_C_BINDING.
! The C headers are the reference for every call: what it does, its
! errors (negative AML_E* codes), and who owns what.
!
!   use aml_fast
!   real(c_double), pointer :: a(:)
!   integer :: stat
!   call aml_fast_allocate(a, n, stat)   ! HBM nearest the calling CPU
!   ...
!   call aml_fast_deallocate(a)
module aml_fast
  use, intrinsic :: iso_c_binding
  implicit none
  private

  ! enum aml_fast_policy
  integer(c_int), parameter, public :: AML_FAST_PREFERRED = 0
  integer(c_int), parameter, public :: AML_FAST_BIND = 1
  integer(c_int), parameter, public :: AML_FAST_BIND_ALL = 2
  integer(c_int), parameter, public :: AML_FAST_INTERLEAVE = 3
  ! enum aml_error, the codes these calls return
  integer(c_int), parameter, public :: AML_SUCCESS = 0
  integer(c_int), parameter, public :: AML_ENOMEM = -2
  integer(c_int), parameter, public :: AML_EINVAL = -3
  integer(c_int), parameter, public :: AML_EBUSY = -6
  integer(c_int), parameter, public :: AML_ENODEV = -8
  ! AML_FAST_REASON_MAX
  integer, parameter, public :: AML_FAST_REASON_MAX = 256

  public :: aml_fast_malloc, aml_fast_calloc, aml_fast_free
  public :: aml_fast_realloc, aml_fast_usable_size, aml_fast_locate
  public :: aml_fast_set_policy, aml_fast_get_policy
  public :: aml_topology_default, aml_topology_ndevices
  public :: aml_fast_available, aml_fast_allocate, aml_fast_deallocate

  interface
    function aml_fast_malloc(size) bind(C, name="aml_fast_malloc")
      import :: c_ptr, c_size_t
      integer(c_size_t), value :: size
      type(c_ptr) :: aml_fast_malloc
    end function
    function aml_fast_calloc(n, size) bind(C, name="aml_fast_calloc")
      import :: c_ptr, c_size_t
      integer(c_size_t), value :: n, size
      type(c_ptr) :: aml_fast_calloc
    end function
    function aml_fast_realloc(ptr, size) bind(C, name="aml_fast_realloc")
      import :: c_ptr, c_size_t
      type(c_ptr), value :: ptr
      integer(c_size_t), value :: size
      type(c_ptr) :: aml_fast_realloc
    end function
    subroutine aml_fast_free(ptr) bind(C, name="aml_fast_free")
      import :: c_ptr
      type(c_ptr), value :: ptr
    end subroutine
    function aml_fast_usable_size(ptr) bind(C, name="aml_fast_usable_size")
      import :: c_ptr, c_size_t
      type(c_ptr), value :: ptr
      integer(c_size_t) :: aml_fast_usable_size
    end function
    function aml_fast_locate(ptr) bind(C, name="aml_fast_locate")
      import :: c_ptr, c_int
      type(c_ptr), value :: ptr
      integer(c_int) :: aml_fast_locate
    end function
    function aml_fast_set_policy(policy) bind(C, name="aml_fast_set_policy")
      import :: c_int
      integer(c_int), value :: policy
      integer(c_int) :: aml_fast_set_policy
    end function
    function aml_fast_get_policy() bind(C, name="aml_fast_get_policy")
      import :: c_int
      integer(c_int) :: aml_fast_get_policy
    end function
    function aml_topology_default() bind(C, name="aml_topology_default")
      import :: c_ptr
      type(c_ptr) :: aml_topology_default
    end function
    function aml_topology_ndevices(topology) &
        bind(C, name="aml_topology_ndevices")
      import :: c_ptr, c_int
      type(c_ptr), value :: topology
      integer(c_int) :: aml_topology_ndevices
    end function
    function c_fast_available(reason, size) bind(C, name="aml_fast_available")
      import :: c_char, c_int, c_size_t
      character(kind=c_char), dimension(*) :: reason
      integer(c_size_t), value :: size
      integer(c_int) :: c_fast_available
    end function
  end interface

  interface aml_fast_allocate
    module procedure allocate_real64, allocate_real32, allocate_int32
  end interface

  interface aml_fast_deallocate
    module procedure deallocate_real64, deallocate_real32, deallocate_int32
  end interface

contains

  ! aml_fast_available(): the count of fast devices, or a negative AML_E*
  ! code; reason receives why, blank-padded.
  function aml_fast_available(reason) result(n)
    character(len=*), intent(out) :: reason
    integer(c_int) :: n
    character(kind=c_char) :: buffer(AML_FAST_REASON_MAX)
    integer :: i
    buffer = c_null_char
    n = c_fast_available(buffer, int(AML_FAST_REASON_MAX, c_size_t))
    reason = ' '
    do i = 1, min(len(reason), AML_FAST_REASON_MAX)
      if (buffer(i) == c_null_char) exit
      reason(i:i) = buffer(i)
    end do
  end function

  ! n >= 1 elements in fast memory into a; stat 0, AML_EINVAL (n < 1),
  ! AML_ENOMEM, or the error that keeps the one-call interface from
  ! serving (AML_ENODEV: no fast memory under a policy that needs it).
  ! a is disassociated on error.
  subroutine allocate_real64(a, n, stat)
    real(c_double), pointer, intent(out) :: a(:)
    integer, intent(in) :: n
    integer, intent(out) :: stat
    type(c_ptr) :: p
    nullify(a)
    p = fast_bytes(n, c_sizeof(0.0_c_double), stat)
    if (stat == 0) call c_f_pointer(p, a, [n])
  end subroutine

  subroutine allocate_real32(a, n, stat)
    real(c_float), pointer, intent(out) :: a(:)
    integer, intent(in) :: n
    integer, intent(out) :: stat
    type(c_ptr) :: p
    nullify(a)
    p = fast_bytes(n, c_sizeof(0.0_c_float), stat)
    if (stat == 0) call c_f_pointer(p, a, [n])
  end subroutine

  subroutine allocate_int32(a, n, stat)
    integer(c_int32_t), pointer, intent(out) :: a(:)
    integer, intent(in) :: n
    integer, intent(out) :: stat
    type(c_ptr) :: p
    nullify(a)
    p = fast_bytes(n, c_sizeof(0_c_int32_t), stat)
    if (stat == 0) call c_f_pointer(p, a, [n])
  end subroutine

  ! n >= 1 elements of esize bytes from fast memory, with the stat of the
  ! allocate_* subroutines.
  function fast_bytes(n, esize, stat) result(p)
    integer, intent(in) :: n
    integer(c_size_t), intent(in) :: esize
    integer, intent(out) :: stat
    type(c_ptr) :: p
    p = c_null_ptr
    stat = AML_EINVAL
    if (n < 1) return
    p = aml_fast_malloc(int(n, c_size_t) * esize)
    stat = 0
    if (.not. c_associated(p)) stat = failure()
  end function

  subroutine deallocate_real64(a)
    real(c_double), pointer, intent(inout) :: a(:)
    if (associated(a)) call aml_fast_free(c_loc(a(1)))
    nullify(a)
  end subroutine

  subroutine deallocate_real32(a)
    real(c_float), pointer, intent(inout) :: a(:)
    if (associated(a)) call aml_fast_free(c_loc(a(1)))
    nullify(a)
  end subroutine

  subroutine deallocate_int32(a)
    integer(c_int32_t), pointer, intent(inout) :: a(:)
    if (associated(a)) call aml_fast_free(c_loc(a(1)))
    nullify(a)
  end subroutine

  ! Why an allocation failed: the error that keeps the one-call interface
  ! from serving, else AML_ENOMEM.
  function failure() result(code)
    integer :: code
    code = aml_fast_get_policy()
    if (code >= 0) code = AML_ENOMEM
  end function

end module aml_fast
