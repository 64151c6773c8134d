using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace TalosImage.Core.Orders;

/// <summary>The plan as a table for people (talos-order --dry-run; Invoke-TalosOrder -WhatIf shows the same rows).</summary>
public static class PlanReport
{
    public static string Format(Plan plan)
    {
        var sb = new StringBuilder();
        foreach (var order in plan.Orders)
        {
            sb.Append("Order ").Append(order.Order.OrderId);
            if (order.Order.Customer.Length > 0)
            {
                sb.Append(" (").Append(SafeText.ForMessage(order.Order.Customer, 200)).Append(')');
            }
            sb.Append(" -> manifest ").Append(order.ManifestPath).Append('\n');
            var rows = new List<string[]> { new[] { "#", "NAME", "VERSION", "ASSET", "SCHEMATIC", "ACTIONS" } };
            foreach (var p in order.Positions)
            {
                rows.Add(new[]
                {
                    (p.Index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    SafeText.ForMessage(p.Name, 200),
                    p.Version is null ? "?" : p.Version + (p.VersionSource == "Unchecked" ? " (unchecked)" : ""),
                    p.Asset,
                    p.SchematicId.Substring(0, Math.Min(12, p.SchematicId.Length)) + (p.SchematicSource == "given" ? "" : " (" + p.SchematicSource + ")"),
                    p.Error is not null ? "FAILS: " + p.Error : Actions(p),
                });
            }
            var widths = Enumerable.Range(0, 5).Select(c => rows.Max(r => r[c].Length)).ToArray();
            foreach (var row in rows)
            {
                sb.Append("  ");
                for (var c = 0; c < 5; c++)
                {
                    sb.Append(row[c].PadRight(widths[c] + 2));
                }
                sb.Append(row[5]).Append('\n');
            }
            foreach (var p in order.Positions)
            {
                foreach (var w in p.Warnings)
                {
                    sb.Append("  warning: ").Append(SafeText.ForMessage(p.Name, 200)).Append(": ").Append(w).Append('\n');
                }
                foreach (var n in p.Notes)
                {
                    sb.Append("  note: ").Append(SafeText.ForMessage(p.Name, 200)).Append(": ").Append(n).Append('\n');
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>What a run would do for one position: download, expand, push to each target.</summary>
    public static string Actions(PlannedPosition p)
    {
        var parts = new List<string> { !p.Download ? "record " + p.Url + " (not fetched; download: true fetches it)" : (p.Cached ? "cached " : "download ") + p.CachePath };
        if (p.ExpandedPath is not null)
        {
            parts.Add((p.ExpandedCached ? "expanded (cached) " : "expand to ") + System.IO.Path.GetFileName(p.ExpandedPath));
        }
        var refused = Publishing.ProxmoxContent.Refusal(p.Format, p.Asset);
        foreach (var t in p.Targets)
        {
            if (refused is not null)
            {
                parts.Add($"push {p.Format} to {t}: fails, no Proxmox content type");
                continue;
            }
            parts.Add($"push {(p.PushExpanded ? "raw" : p.RemoteExpand ? p.Format + " (expand remotely)" : p.Format)} to {t}");
        }
        foreach (var t in p.Templates)
        {
            parts.Add($"template {t.Name} on {t}" + (t.Settings.VmId is { } id ? $" (vmid {id})" : "") + (t.Settings.Keep is { } keep ? $", keep {keep}" : ""));
        }
        return string.Join("; ", parts);
    }
}
