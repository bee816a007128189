! SPDX-License-Identifier: BSD-3-Clause
!
! The Fortran module aml_fast on AML_EMULATE's knl-flat (set by the BUILD
! target): an array in fast memory, on MCDRAM (device 1), used and freed;
! the reason aml_fast_available() gives; bad sizes refused.
program fortran_fast_test
  use, intrinsic :: iso_c_binding
  use aml_fast
  implicit none
  real(c_double), pointer :: a(:)
  integer(c_int32_t), pointer :: b(:)
  character(len=AML_FAST_REASON_MAX) :: why
  integer :: stat, i
  real(c_double) :: total

  if (aml_fast_available(why) /= 1) then
    print *, 'no fast memory: ', trim(why)
    stop 1
  end if
  if (index(why, 'HBM') == 0) stop 2
  if (aml_topology_ndevices(aml_topology_default()) /= 2) stop 3

  call aml_fast_allocate(a, 1000000, stat)
  if (stat /= 0 .or. .not. associated(a)) stop 4
  if (size(a) /= 1000000) stop 5
  do i = 1, size(a)
    a(i) = real(i, c_double)
  end do
  total = sum(a)
  if (total /= 500000500000.0_c_double) stop 6
  if (aml_fast_locate(c_loc(a(1))) /= 1) stop 7
  if (aml_fast_locate(c_loc(a(size(a)))) /= 1) stop 8
  if (aml_fast_usable_size(c_loc(a(1))) < 8000000_c_size_t) stop 9
  call aml_fast_deallocate(a)
  if (associated(a)) stop 10

  call aml_fast_allocate(b, 0, stat)
  if (stat /= AML_EINVAL .or. associated(b)) stop 11
  call aml_fast_allocate(b, 10, stat)
  if (stat /= 0) stop 12
  b = 7
  if (sum(b) /= 70) stop 13
  call aml_fast_deallocate(b)
  if (aml_fast_set_policy(AML_FAST_BIND) /= AML_EBUSY) stop 14
  print *, 'fortran_fast_test: passed'
end program
