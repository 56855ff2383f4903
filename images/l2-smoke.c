/*
 * l2-smoke: proves that this (L1) guest can run a guest of its own (L2) through /dev/kvm.
 *
 * It creates a VM with one vCPU and one page of memory holding nine bytes of real-mode code:
 *     mov al, 'L' ; out 42, al ; mov al, '2' ; out 43, al ; hlt
 * then runs it and checks that KVM reports exactly those two port writes and the halt.
 * Prints one line beginning "L2 OK" when the L2 guest ran as expected, or "L2 FAIL: <reason>".
 * Exit status: 0 on success, 1 on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_ADDR 0x1000

static const uint8_t code[] = {
    0xb0, 'L',  /* mov al, 'L' */
    0xe6, 42,   /* out 42, al  */
    0xb0, '2',  /* mov al, '2' */
    0xe6, 43,   /* out 43, al  */
    0xf4,       /* hlt         */
};

static int fail(const char *what) {
  if (errno) printf("L2 FAIL: %s: %s\n", what, strerror(errno));
  else printf("L2 FAIL: %s\n", what);
  fflush(stdout);
  return 1;
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "L2 FAIL: the L2 guest did not finish within 30 s\n";
  (void)!write(1, msg, sizeof msg - 1);
  _exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void) {
  double t0 = now_ms();
  signal(SIGALRM, on_alarm);
  alarm(30);

  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) {
    if (errno == ENOENT) {
      errno = 0;
      return fail("no /dev/kvm (the CPU of this instance has no virtualization extension, or kvm is not loaded)");
    }
    return fail("cannot open /dev/kvm");
  }
  errno = 0;
  int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) {
    char buf[64];
    snprintf(buf, sizeof buf, "unexpected KVM API version %d", api);
    return fail(buf);
  }
  int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
  if (vm < 0) return fail("KVM_CREATE_VM");

  uint8_t *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return fail("mmap guest memory");
  memcpy(mem, code, sizeof code);
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = GUEST_ADDR, .memory_size = 0x1000, .userspace_addr = (uint64_t)(uintptr_t)mem};
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) return fail("KVM_SET_USER_MEMORY_REGION");

  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
  if (vcpu < 0) return fail("KVM_CREATE_VCPU");
  int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size < (int)sizeof(struct kvm_run)) return fail("KVM_GET_VCPU_MMAP_SIZE");
  struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) return fail("mmap kvm_run");

  struct kvm_sregs sregs;
  if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) return fail("KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) return fail("KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = GUEST_ADDR, .rax = 0, .rflags = 0x2};
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) return fail("KVM_SET_REGS");

  /* The exits we expect, in order. */
  const struct { uint16_t port; uint8_t value; } want[] = {{42, 'L'}, {43, '2'}};
  unsigned seen = 0, exits = 0;
  char buf[160];
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR) continue;
      return fail("KVM_RUN");
    }
    exits++;
    switch (run->exit_reason) {
      case KVM_EXIT_IO: {
        uint8_t value = *((uint8_t *)run + run->io.data_offset);
        if (seen >= 2 || run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 || run->io.count != 1 ||
            run->io.port != want[seen].port || value != want[seen].value) {
          snprintf(buf, sizeof buf, "unexpected port I/O exit: port %u, direction %u, size %u, value 0x%02x",
                   run->io.port, run->io.direction, run->io.size, value);
          errno = 0;
          return fail(buf);
        }
        seen++;
        break;
      }
      case KVM_EXIT_HLT:
        if (seen != 2) {
          snprintf(buf, sizeof buf, "the L2 guest halted after %u of 2 port writes", seen);
          errno = 0;
          return fail(buf);
        }
        printf("L2 OK: an L2 guest ran through /dev/kvm: out 42 ('L'), out 43 ('2'), hlt; %u exits in %.1f ms\n",
               exits, now_ms() - t0);
        fflush(stdout);
        return 0;
      case KVM_EXIT_FAIL_ENTRY:
        snprintf(buf, sizeof buf, "KVM_EXIT_FAIL_ENTRY (hardware entry failure reason 0x%llx)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        errno = 0;
        return fail(buf);
      case KVM_EXIT_INTERNAL_ERROR:
        snprintf(buf, sizeof buf, "KVM_EXIT_INTERNAL_ERROR (suberror %u)", run->internal.suberror);
        errno = 0;
        return fail(buf);
      case KVM_EXIT_SHUTDOWN:
        errno = 0;
        return fail("KVM_EXIT_SHUTDOWN (the L2 guest triple-faulted)");
      default:
        snprintf(buf, sizeof buf, "unexpected exit reason %u", run->exit_reason);
        errno = 0;
        return fail(buf);
    }
  }
}
