namespace TalosImage;

/// <summary>How an artifact reaches a Proxmox storage.</summary>
public enum ProxmoxMethod
{
    /// <summary>This machine sends the cached file (POST .../upload, multipart, streamed from disk).</summary>
    Upload,
    /// <summary>The node fetches the artifact's factory URL itself (POST .../download-url).</summary>
    DownloadUrl,
}
