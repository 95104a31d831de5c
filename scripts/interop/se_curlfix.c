/*
 * se_curlfix.c -- LD_PRELOAD shim for the HTTP client of Debian 12's SyncEvolution 2.0.0
 * (package 2.0.0-3+b1), used by scripts/interop/sepeer.py.
 *
 * The problem: SyncEvo::CurlTransportAgent registers its libcurl write and read callbacks
 * with a null function pointer (the argument register is never loaded in that build), so
 * libcurl falls back to fwrite()/fread() on the agent object it was given as WRITEDATA /
 * READDATA and the client dies with SIGSEGV on its first POST.
 *
 * The shim wraps curl_easy_setopt(). When a call that comes from libsyncevolution sets
 * CURLOPT_WRITEFUNCTION or CURLOPT_READFUNCTION, it installs trampolines that call the
 * library's own exported member functions
 *     size_t SyncEvo::CurlTransportAgent::writeData(void *buffer, size_t size)
 *     size_t SyncEvo::CurlTransportAgent::readData(void *buffer, size_t size)
 * with the WRITEDATA/READDATA pointer (the agent, which is set correctly) as `this`.
 * All other options and callers pass through untouched. x86_64 only: every option value is
 * taken as one pointer-sized word.
 *
 * Build:  gcc -O2 -Wall -shared -fPIC -o se_curlfix.so se_curlfix.c -ldl
 * Debug:  SE_CURLFIX_VERBOSE=1 prints each replacement on stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CURLOPT_WRITEFUNCTION_ID = 20011, CURLOPT_READFUNCTION_ID = 20012 };

#define SYM_WRITE "_ZN7SyncEvo18CurlTransportAgent9writeDataEPvm"
#define SYM_READ  "_ZN7SyncEvo18CurlTransportAgent8readDataEPvm"

typedef int (*curl_setopt_t)(void *, int, ...);
typedef size_t (*agent_io_t)(void *agent, void *buffer, size_t length);

static struct {
    curl_setopt_t next_setopt;
    agent_io_t write_member;
    agent_io_t read_member;
    int looked_up;
    int verbose;
} shim;

static void shim_lookup(void)
{
    if (shim.looked_up)
        return;
    shim.next_setopt = (curl_setopt_t)dlsym(RTLD_NEXT, "curl_easy_setopt");
    shim.write_member = (agent_io_t)dlsym(RTLD_DEFAULT, SYM_WRITE);
    shim.read_member = (agent_io_t)dlsym(RTLD_DEFAULT, SYM_READ);
    shim.verbose = getenv("SE_CURLFIX_VERBOSE") != NULL;
    shim.looked_up = 1;
}

static size_t write_trampoline(char *data, size_t size, size_t count, void *agent)
{
    return shim.write_member(agent, data, size * count);
}

static size_t read_trampoline(char *data, size_t size, size_t count, void *agent)
{
    return shim.read_member(agent, data, size * count);
}

static int from_syncevolution(const void *code_address)
{
    Dl_info where;
    return dladdr(code_address, &where) && where.dli_fname &&
           strstr(where.dli_fname, "libsyncevolution") != NULL;
}

int curl_easy_setopt(void *curl, int option, ...)
{
    va_list args;
    void *value;
    void *replacement = NULL;

    shim_lookup();
    va_start(args, option);
    value = va_arg(args, void *);
    va_end(args);

    if (shim.write_member && shim.read_member &&
        from_syncevolution(__builtin_return_address(0))) {
        if (option == CURLOPT_WRITEFUNCTION_ID)
            replacement = (void *)write_trampoline;
        else if (option == CURLOPT_READFUNCTION_ID)
            replacement = (void *)read_trampoline;
    }
    if (replacement) {
        if (shim.verbose)
            fprintf(stderr, "se_curlfix: curl option %d: %p -> %p\n", option, value, replacement);
        value = replacement;
    }
    return shim.next_setopt(curl, option, value);
}
