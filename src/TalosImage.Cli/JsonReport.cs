using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Newtonsoft.Json;
using TalosImage.Core;
using TalosImage.Core.Orders;

namespace TalosImage.Cli;

/// <summary>
/// talos-order --json: the run's results as one indented JSON object (orders, plan, manifests, removed, exit_code).
/// Written field by field with Newtonsoft's JsonTextWriter rather than by its serializer, whose contract building
/// (compiled expression trees for every property) cost a warm run about 70 ms at its very end, and which needs
/// reflection that the native build of talos-order does not keep for an anonymous object. The text is the same
/// (JsonReportTests compares the two, so a property added to TalosOrderResult and not here fails there).
/// </summary>
public static class JsonReport
{
    public static string Format(RunResult result)
    {
        var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        using (var w = new JsonTextWriter(text) { Formatting = Formatting.Indented })
        {
            w.WriteStartObject();
            w.WritePropertyName("orders");
            Write(w, result.Orders);
            w.WritePropertyName("plan");
            Write(w, result.DryRun ? RunReport.PlanRows(result.Plan) : null);
            w.WritePropertyName("manifests");
            Write(w, result.DryRun ? result.Manifests : null);
            w.WritePropertyName("removed");
            w.WriteStartArray();
            foreach (var r in result.Removed)
            {
                w.WriteValue(r.Path);
            }
            w.WriteEndArray();
            w.WritePropertyName("exit_code");
            w.WriteValue(result.ExitCode);
            w.WriteEndObject();
        }
        return text.ToString();
    }

    private static void Write(JsonWriter w, IReadOnlyList<TalosOrderResult> orders)
    {
        w.WriteStartArray();
        foreach (var o in orders)
        {
            w.WriteStartObject();
            Property(w, nameof(o.OrderId), o.OrderId);
            Property(w, nameof(o.Customer), o.Customer);
            Property(w, nameof(o.Status), o.Status);
            Property(w, nameof(o.Positions), o.Positions);
            Property(w, nameof(o.Succeeded), o.Succeeded);
            Property(w, nameof(o.Failed), o.Failed);
            Property(w, nameof(o.Skipped), o.Skipped);
            Property(w, nameof(o.Changed), o.Changed);
            Property(w, nameof(o.ManifestPath), o.ManifestPath);
            Property(w, nameof(o.BytesDownloaded), o.BytesDownloaded);
            Property(w, nameof(o.BytesPushed), o.BytesPushed);
            Property(w, nameof(o.Duration), o.Duration);
            Property(w, nameof(o.DryRun), o.DryRun);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Write(JsonWriter w, IReadOnlyList<ManifestOutput>? manifests)
    {
        if (manifests is null)
        {
            w.WriteNull();
            return;
        }
        w.WriteStartArray();
        foreach (var m in manifests)
        {
            w.WriteStartObject();
            Property(w, nameof(m.Path), m.Path);
            Property(w, nameof(m.Yaml), m.Yaml);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>The plan rows (<see cref="RunReport.PlanRows"/>): strings, numbers, null and lists of strings.</summary>
    private static void Write(JsonWriter w, IReadOnlyList<IDictionary<string, object?>>? rows)
    {
        if (rows is null)
        {
            w.WriteNull();
            return;
        }
        w.WriteStartArray();
        foreach (var row in rows)
        {
            w.WriteStartObject();
            foreach (var pair in row)
            {
                Property(w, pair.Key, pair.Value);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Property(JsonWriter w, string name, object? value)
    {
        w.WritePropertyName(name);
        switch (value)
        {
            case IEnumerable<string> strings:
                w.WriteStartArray();
                foreach (var s in strings)
                {
                    w.WriteValue(s);
                }
                w.WriteEndArray();
                break;
            case null or string or bool or int or long or double:
                w.WriteValue(value); // JsonWriter's own formatting of each primitive, as the serializer uses it
                break;
            default:
                throw new InvalidOperationException($"talos-order --json has no form for {name} ({value.GetType().Name})");
        }
    }
}
