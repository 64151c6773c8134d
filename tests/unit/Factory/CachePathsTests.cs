using System.Runtime.InteropServices;
using TalosImage.Core.Cache;
using Xunit;

namespace TalosImage.Tests.Factory;

public class CachePathsTests
{
    [SkippableFact]
    public void The_default_cache_folder_follows_XDG_then_HOME()
    {
        Skip.If(RuntimeInformation.IsOSPlatform(OSPlatform.Windows), "XDG rules apply outside Windows");
        Assert.Equal("/x/cache/talosimage", CachePaths.DefaultCacheDirectory(n => n switch { "XDG_CACHE_HOME" => "/x/cache", "HOME" => "/home/u", _ => null }));
        Assert.Equal("/home/u/.cache/talosimage", CachePaths.DefaultCacheDirectory(n => n == "HOME" ? "/home/u" : null));
        // A relative XDG_CACHE_HOME is invalid by the spec and ignored.
        Assert.Equal("/home/u/.cache/talosimage", CachePaths.DefaultCacheDirectory(n => n switch { "XDG_CACHE_HOME" => "rel", "HOME" => "/home/u", _ => null }));
    }

    [SkippableFact]
    public void On_Windows_it_is_under_LOCALAPPDATA()
    {
        Skip.IfNot(RuntimeInformation.IsOSPlatform(OSPlatform.Windows), "Windows only");
        Assert.Equal(@"C:\Users\u\AppData\Local\TalosImage", CachePaths.DefaultCacheDirectory(n => n == "LOCALAPPDATA" ? @"C:\Users\u\AppData\Local" : null));
    }
}
