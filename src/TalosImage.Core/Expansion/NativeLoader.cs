using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace TalosImage.Core.Expansion;

/// <summary>
/// Loads a shared library by trying a list of names in order, and finds its exported functions, without
/// System.Runtime.InteropServices.NativeLibrary (not in netstandard2.0, so not on Windows PowerShell 5.1).
/// Windows: kernel32 LoadLibraryW/GetProcAddress (the DLL search order, which includes PATH).
/// Linux: dlopen/dlsym from libdl.so.2, else from libc.so.6 (glibc 2.34 and later keep them there).
/// macOS: dlopen/dlsym from /usr/lib/libSystem.B.dylib.
/// A library that cannot be loaded gives <see cref="IntPtr.Zero"/>; the caller falls back (to the program).
/// </summary>
internal static class NativeLoader
{
    private const int RtldNow = 2;

    /// <summary>The first of <paramref name="names"/> that loads, with its handle; (Zero, null) when none does.</summary>
    public static (IntPtr Handle, string? Name) TryLoad(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            var handle = TryLoadOne(name);
            if (handle != IntPtr.Zero)
            {
                return (handle, name);
            }
        }
        return (IntPtr.Zero, null);
    }

    /// <summary>The address of <paramref name="symbol"/> in <paramref name="library"/>, or Zero when it does not export it.</summary>
    public static IntPtr Symbol(IntPtr library, string symbol)
    {
        try
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return Windows.GetProcAddress(library, symbol);
            }
            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                return Mac.dlsym(library, symbol);
            }
            return LinuxDlsym(library, symbol);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return IntPtr.Zero;
        }
    }

    private static IntPtr TryLoadOne(string name)
    {
        try
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return Windows.LoadLibraryW(name);
            }
            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                return Mac.dlopen(name, RtldNow);
            }
            return LinuxDlopen(name);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return IntPtr.Zero;
        }
    }

    private static IntPtr LinuxDlopen(string name)
    {
        try
        {
            return LibDl.dlopen(name, RtldNow);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return LibC.dlopen(name, RtldNow);
        }
    }

    private static IntPtr LinuxDlsym(IntPtr library, string symbol)
    {
        try
        {
            return LibDl.dlsym(library, symbol);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return LibC.dlsym(library, symbol);
        }
    }

    private static class Windows
    {
        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        public static extern IntPtr LoadLibraryW(string name);

        [DllImport("kernel32", CharSet = CharSet.Ansi, ExactSpelling = true, BestFitMapping = false)]
        public static extern IntPtr GetProcAddress(IntPtr module, string name);
    }

    private static class LibDl
    {
        [DllImport("libdl.so.2", CharSet = CharSet.Ansi, BestFitMapping = false)]
        public static extern IntPtr dlopen(string name, int flags);

        [DllImport("libdl.so.2", CharSet = CharSet.Ansi, BestFitMapping = false)]
        public static extern IntPtr dlsym(IntPtr handle, string symbol);
    }

    private static class LibC
    {
        [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false)]
        public static extern IntPtr dlopen(string name, int flags);

        [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false)]
        public static extern IntPtr dlsym(IntPtr handle, string symbol);
    }

    private static class Mac
    {
        [DllImport("/usr/lib/libSystem.B.dylib", CharSet = CharSet.Ansi, BestFitMapping = false)]
        public static extern IntPtr dlopen(string name, int flags);

        [DllImport("/usr/lib/libSystem.B.dylib", CharSet = CharSet.Ansi, BestFitMapping = false)]
        public static extern IntPtr dlsym(IntPtr handle, string symbol);
    }
}
