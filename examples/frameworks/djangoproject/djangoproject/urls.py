from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from . import views

urlpatterns = [
    path("", views.hello),
    path("sleep", views.sleep),
    path("stream", views.stream),
    path("file", views.file),
    path("items/<int:item_id>", views.item),
    path("upload", csrf_exempt(views.upload)),
]
