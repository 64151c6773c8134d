#Requires -RunAsAdministrator
# Registers a Windows scheduled task that runs the orders every night at 03:15 with PowerShell 7 (pwsh.exe).
# Use powershell.exe instead of pwsh.exe for Windows PowerShell 5.1. The log and the manifests tell what happened;
# the task's last result is 1 when an order failed (Invoke-TalosOrder wrote an error), 0 otherwise.
param(
    [string] $Config = 'C:\talos\config.yaml',
    [string] $Orders = 'C:\talos\orders.yaml',
    [string] $Log = 'C:\talos\talos-order.log'
)

$command = "Import-Module TalosImage; " +
    "Invoke-TalosOrder -Config '$Config' -Orders '$Orders' -LogPath '$Log' -ErrorVariable failed | Out-Null; " +
    "if (`$failed) { exit 1 }"
$action = New-ScheduledTaskAction -Execute 'pwsh.exe' -Argument "-NoProfile -NonInteractive -Command `"$command`""
$trigger = New-ScheduledTaskTrigger -Daily -At 03:15
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit (New-TimeSpan -Hours 4) -MultipleInstances IgnoreNew
Register-ScheduledTask -TaskName 'TalosImage orders' -Action $action -Trigger $trigger -Settings $settings `
    -User 'NT AUTHORITY\SYSTEM' -RunLevel Highest -Description 'Orders Talos images and publishes them (TalosImage)'
